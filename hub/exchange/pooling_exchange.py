"""nbgrader's exchange for a class on a shared machine: submissions that classmates cannot read.

nbgrader's own ``ExchangeSubmit`` leaves a submission folder world-readable (even
world-writable) and relies on the inbound folder being unlistable and on a random suffix
in the folder's name.  ``nbgrader release_assignment`` makes the inbound folder
set-group-ID with the instructor's group, so a submission folder belongs to that group:
:class:`PrivateSubmit` then closes the folder to everyone but its student and that group
(mode 0770; the files inside keep nbgrader's modes, unreachable through the folder).
Enable it with ``c.ExchangeFactory.submit = "pooling_exchange.PrivateSubmit"``.
It is its own tiny package (this folder), not part of poolgrade: every student's server
imports it when the student submits, and students get poolkit, never the grader.
"""

from __future__ import annotations

import os

from nbgrader.exchange.default.submit import ExchangeSubmit


class PrivateSubmit(ExchangeSubmit):
    """``nbgrader submit`` with the submission folder closed to other students."""

    def copy_files(self):
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        if os.stat(dest).st_gid != os.stat(self.inbound_path).st_gid:
            # not the instructor's group: closing the folder would lock the instructor out
            self.log.warning("Inbound folder %s is not set-group-ID; the submission keeps "
                             "nbgrader's permissions", self.inbound_path)
            return
        os.chmod(dest, 0o770)
