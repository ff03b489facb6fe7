"""The sandbox: meetbot in a browser page, against the emulators (`python -m bot sandbox`). Never imported by bot/
except its one lazy entry point (tests/unit/test_layers.py)."""
