# The documented commands.  Every target builds the .venv first when it is missing or
# older than the files that define it, so any target can be the first one ever run.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# nbgrader shells out to alembic, so the venv's bin/ must come first on PATH.
export PATH := $(BIN):$(PATH)
# TensorFlow is quiet only with both set before it is imported.
export TF_ENABLE_ONEDNN_OPTS := 0
export TF_CPP_MIN_LOG_LEVEL := 3
PORT ?= 8888

.PHONY: lab test test-fast bench lint lock clean-venv notebooks release release-check \
	hub hub-env hub-stop hub-reset student-bundle

$(STAMP): pyproject.toml poolkit/pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ./poolkit -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (pooling course)" >/dev/null
	@touch $@

## lab: open the course in JupyterLab (add ARGS=... for more JupyterLab options)
lab: $(STAMP)
	$(BIN)/jupyter lab course --port=$(PORT) $(if $(filter 0,$(shell id -u)),--allow-root) $(ARGS)

## hub: a local JupyterHub demo class (root): one instructor, two students; prints the logins
HUB_PORT ?= 8000
hub:
	python3 -m poolgrade.authoring.hub start --port $(HUB_PORT)

## hub-env: only build the hub's environment (/opt/pooling-hub: venv from the lock, proxy)
hub-env:
	python3 -m poolgrade.authoring.hub env

## hub-stop: stop the demo hub, its proxy and every user's server
hub-stop:
	python3 -m poolgrade.authoring.hub stop

## hub-reset: stop, then delete the demo accounts, the exchange and the hub's state
hub-reset:
	python3 -m poolgrade.authoring.hub reset

## test: run the whole test suite (library, notebooks, nbgrader, widgets, browser, grading)
## on two workers; each test file stays on one, so its module fixtures are built once;
## the 25 slowest tests are listed at the end (where the time goes)
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=25 $(ARGS)

## test-fast: the unit tests only (tests/unit: poolkit's library and checks; about a minute
## on two workers, where one took 1.75 times as long in the same run)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests/unit $(ARGS)

## bench: time poolkit against torch, the widgets' update path, grading and each lesson's run
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_pooling.py
	@test ! -f benchmarks/bench_widgets.py || $(BIN)/python benchmarks/bench_widgets.py
	$(BIN)/python benchmarks/bench_channel.py
	$(BIN)/python benchmarks/bench_grading.py --workers 2
	$(BIN)/python benchmarks/bench_course.py

## notebooks: build solutions/<NN-name>/<name>.ipynb from its .py source (LESSON=NN-name for one)
notebooks: $(STAMP)
	$(BIN)/poolgrade release $(if $(LESSON),$(LESSON),--all) --notebooks

## release: build the notebooks, then regenerate course/ with nbgrader (LESSON=NN-name for one)
release: $(STAMP)
	$(BIN)/poolgrade release $(if $(LESSON),$(LESSON),--all)

## release-check: exit 1 if a notebook differs from its .py or course/ from solutions/
release-check: $(STAMP)
	$(BIN)/poolgrade release --all --check

## student-bundle: dist/pooling-course-student.tar.gz, the course without solutions, for an LMS or a git repo
student-bundle: $(STAMP)
	$(BIN)/poolgrade bundle

lint: $(STAMP)
	$(BIN)/ruff check poolkit poolgrade tests benchmarks demos nbgrader_config.py \
		solutions/*/answers.py solutions/*/mistakes.py

## lock: refresh requirements.lock from the current venv after a dependency change
lock:
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > requirements.lock.new
	( printf '# Exact versions tested on Python 3.11 (CPU). Used as pip constraints by the Makefile.\n# Regenerate with `make lock` after changing dependencies in pyproject.toml.\n'; cat requirements.lock.new ) > requirements.lock && rm requirements.lock.new

clean-venv:
	rm -rf $(VENV)
