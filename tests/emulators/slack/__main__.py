"""`python -m tests.emulators.slack --port N`: the emulator on its own."""

from tests.emulators.slack.server import main

if __name__ == "__main__":
    main()
