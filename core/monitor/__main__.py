"""`python -m core.monitor`: the watcher (core.monitor.watch)."""

from core.monitor.watch import main

if __name__ == "__main__":
    main()
