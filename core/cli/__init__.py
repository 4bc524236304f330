"""Command lines from options dataclasses: `fields` declares an option (light: the dashboard's forms read the same
declarations), `parser` turns a dataclass into a command line (transformers.HfArgumentParser) with one-line errors.
The trainers (core.training.options) and the commands (core.commands) declare their options this way."""
