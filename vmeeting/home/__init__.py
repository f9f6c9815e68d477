"""The today board: reads the other capabilities, writes nothing; the health check and the language switch."""
