"""After the merge: what this repository's runs are doing on the platform.

`status` (every run file next to its platform runs), `logs` (a file's newest run) and the live rows
of `plan` (drift.py) read the platform the same way: one paginated listing (live.py), this
repository's runs grouped by run file. All of it is read-only; the one thing that stops runs,
stop-on-delete, is submit's (submit/deleted.py) and acts only under `on_delete: stop`.
"""
