"""After the merge: what this repository's runs are doing on the platform.

`status` (every run file next to its platform runs), `logs` (a file's newest run), stop-on-delete
(submit, when runs/policy.yaml says `on_delete: stop`) and the live rows of `plan` all read the
platform the same way: one paginated listing (live.py), this repository's runs grouped by run file.
Nothing here stops or deletes a run: stop-on-delete is submit's (submit/deleted.py), under that policy only.
"""
