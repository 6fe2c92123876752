"""nbgrader settings for every user of a real hub: copy to <user env>/etc/jupyter/.

The instructor also needs, in ~/.jupyter/nbgrader_config.py:
    c.CourseDirectory.root = "/home/<instructor>/pooling-layers"
(the folder holding this repository's nbgrader_config.py and solutions/).
"""

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "pooling-layers"
# One shared folder, the same path for every user (mode 1777).  On Kubernetes: a shared
# ReadWriteMany volume mounted here in every user's pod.
c.Exchange.root = "/srv/nbgrader/exchange"
# Submissions readable by the student and the instructor's group only.
c.ExchangeFactory.submit = "poolgrade.batch.exchange.PrivateSubmit"
