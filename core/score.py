"""`python -m core.score`: batch scoring (core.scoring.batch) under its documented command name."""

from core.scoring.batch import main

if __name__ == "__main__":
    main()
