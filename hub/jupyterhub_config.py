"""JupyterHub configuration of the demo class (``make hub``; ``poolgrade.authoring.hub`` writes
the settings this reads and starts the hub with it, as root).

Real local users log in with their passwords (PAM); each user's server runs as that user
(``LocalProcessSpawner``) from the shared environment ``/opt/pooling-hub/venv``.  The
instructor's server opens the course folder with the formgrader; students get nbgrader's
Assignments tab.  The hub's database, cookie secret and pid files live in the class's state
folder, so a restart of the hub loses nothing, and users' servers keep running through it.
"""

import json
import os
import pwd

from tornado import web

settings = json.load(open(os.environ["POOLKIT_HUB_SETTINGS"]))  # noqa: SIM115
state, etc, venv = settings["state"], settings["etc"], settings["venv"]
instructor, students = settings["instructor"], settings["students"]

c = get_config()  # noqa: F821 (provided by traitlets)

# --- hub, proxy, state -------------------------------------------------------------------
c.JupyterHub.db_url = f"sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{state}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{state}/jupyterhub.pid"
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.pid_file = f"{state}/proxy.pid"
c.ConfigurableHTTPProxy.debug = False
# A hub restart in the middle of a class: the users' servers (and their kernels) go on,
# and the new hub picks them up from its database.
c.JupyterHub.cleanup_servers = False
c.JupyterHub.cleanup_proxy = False

# --- who can log in ------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False   # no pam_systemd/loginuid sessions in a container
c.Authenticator.allowed_users = {instructor, *students, settings["broken"]}
c.Authenticator.admin_users = {instructor}

# --- each user's server ------------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [f"{venv}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin",   # nbgrader runs alembic from PATH
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


def cannot_start(message: str):
    """Fail the spawn with ``message`` on the page the user sees (JupyterHub shows an
    exception's ``jupyterhub_message`` instead of its generic text)."""
    error = web.HTTPError(500, message)
    error.jupyterhub_message = message
    raise error


def pre_spawn_hook(spawner):
    """Per role: the Jupyter config path, the folder the server opens; a clear message when
    the server cannot start."""
    name = spawner.user.name
    try:
        home = pwd.getpwnam(name).pw_dir
    except KeyError:
        cannot_start(f"There is no account {name} on this machine: ask your instructor.")
    if not os.path.isdir(home):
        cannot_start(f"Your server cannot start: your home folder {home} does not exist. "
                     "Ask your instructor to create it (on the demo hub: make hub-reset, "
                     "then make hub).")
    role = "instructor" if name == instructor else "student"
    # a new dict per spawn: the configured one may be shared by every user's spawner, and
    # what the instructor gets must never reach a student's server
    env = dict(spawner.environment, JUPYTER_CONFIG_PATH=f"{etc}/{role}:{etc}/common")
    if role == "instructor":
        # the grader (poolgrade) is on the instructor's paths only: students' servers and
        # kernels run from the shared venv, which holds poolkit and no grader
        extra = settings["instructor_env"]
        env["PYTHONPATH"] = extra["PYTHONPATH"]
        env["PATH"] = f"{extra['PATH']}:{env['PATH']}"
        env["POOLKIT_COURSE_ROOT"] = settings["course_dir"]
        spawner.notebook_dir = settings["course_dir"]
    else:
        spawner.notebook_dir = home
    spawner.environment = env


c.Spawner.pre_spawn_hook = pre_spawn_hook
