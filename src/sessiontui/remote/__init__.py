"""Remote hosts over OpenSSH: the JSON-lines protocol and its server (SPEC 2.7).

Model layer: nothing here imports Textual, Rich or the UI.
"""
