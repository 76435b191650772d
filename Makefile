# mentoring-eval: the two commands a newcomer needs are `make report` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := data/demo
STAMP  := $(VENV)/.installed

.PHONY: report test lab demo validate clean

report: $(DEMO)/employees.csv  ## simulate the demo if needed, validate it, run every notebook for every params file
	$(BIN)/mentoring-eval validate $(DEMO)
	$(BIN)/mentoring-eval run --params params --out reports

test: $(DEMO)/employees.csv  ## unit tests and every notebook under nbval
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env tests notebooks

lab: $(DEMO)/employees.csv  ## open JupyterLab on the notebooks (--allow-root only when run as root, e.g. in a container)
	$(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

demo: $(DEMO)/employees.csv

validate: $(STAMP)
	$(BIN)/mentoring-eval validate $(DEMO)

$(DEMO)/employees.csv: $(STAMP)
	$(BIN)/mentoring-eval simulate $(DEMO) --employees 5000 --seed 0 --design mix

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lab]"
	touch $(STAMP)

clean:  ## remove generated files (keeps .venv)
	rm -rf reports reports-private $(DEMO) .pytest_cache
