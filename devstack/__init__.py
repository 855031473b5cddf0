"""The developer stack behind ``./dev``: embedded services, the process supervisor, the commands."""
