# The two commands a new user needs:  make demo   and   make test
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench clean serve

$(STAMP): requirements.txt
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

## make demo: set up, migrate the embedded SQLite database, load demo data, run the pipeline, serve on 127.0.0.1
demo: $(STAMP)
	$(BIN)/python -m voc demo --serve

## make test: set up and run the whole suite on SQLite and PostgreSQL
test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check .

serve: $(STAMP)
	$(BIN)/python -m voc serve

clean:
	rm -rf $(VENV) instance .pytest_cache
