"""Every command of the library, one module each: an options dataclass (core.cli.fields.option, parsed by
core.cli.parser like the trainers' options) and a `main(argv)` that parses them and calls the library. Expected
failures end with one line, `error: …`, and exit status 2.

    python -m core.score               batch scoring (the documented name of core.commands.score)
    python -m core.commands.evaluate   a run on a labelled file (an evaluation set)
    python -m core.commands.behaviour  the behavioural tests on a run
    python -m core.commands.data       download the official set, or report on a data file
    python -m core.commands.watch      the continuous monitor
    python -m core.commands.export_onnx  a transformer run's ONNX export and serving choice
    python -m core.commands.quickstart   the quick baselines
    python -m core.commands.devices      what this machine offers for training
    python -m core.commands.azure_spend, azure_job, azure_batch_job, azure_deploy, azure_local_endpoint

The trainers are `python -m trainers.<name>` (core.training.runner).
"""
