"""Remote hosts over SSH: the JSON-lines protocol, ``serve --stdio``, links and the hub."""
