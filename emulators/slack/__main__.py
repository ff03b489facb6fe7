"""`python -m emulators.slack --port N`: the emulator on its own."""

from emulators.slack.server import main

if __name__ == "__main__":
    main()
