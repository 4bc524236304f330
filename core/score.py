"""`python -m core.score`: batch scoring under its documented name (the command is core.commands.score)."""

from core.commands.score import main

if __name__ == "__main__":
    main()
