"""`python -m core.evaluate`: evaluation sets and the gauge under their documented name (core.commands.evaluate)."""

from core.commands.evaluate import main

if __name__ == "__main__":
    main()
