"""Command-line interface: ``siamfc <command>`` and the ``track`` shortcut."""
