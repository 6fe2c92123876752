"""nbgrader settings for every user of a real hub: copy to <user env>/etc/jupyter/.

The instructor also needs, in ~/.jupyter/nbgrader_config.py:
    c.CourseDirectory.root = "/home/<instructor>/pooling-layers"
(the folder holding this repository's nbgrader_config.py and solutions/), and the grader,
poolgrade, which the user image leaves out: pip install --no-deps --target <folder only the
instructor can read> <this repository>, then that folder on the instructor's PYTHONPATH.
"""

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "pooling-layers"
# One shared folder, the same path for every user (mode 1777).  On Kubernetes: a shared
# ReadWriteMany volume mounted here in every user's pod.
c.Exchange.root = "/srv/nbgrader/exchange"
# Submissions readable by the student and the instructor's group only (hub/exchange, in the
# user image; students' servers import it when they submit, and they have no poolgrade).
c.ExchangeFactory.submit = "pooling_exchange.PrivateSubmit"
