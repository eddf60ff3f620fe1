# kdt-tutor: two commands do all set-up on a fresh machine.
#   make run   venv + install + load the sample course + demo accounts + serve on 127.0.0.1:8000
#   make test  venv + install + the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
COURSE ?= courses/python-basics

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install run serve ingest demo-users test test-fast lint bench bench-retrieval eval-gate clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch first: a plain resolve would fetch the multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[test]"
	touch $@

install: $(BIN)/.installed

ingest: install
	$(BIN)/kdt-tutor ingest $(COURSE)

# Demo accounts for trying the app locally; change or disable them anywhere else
# (`kdt-tutor user passwd USERNAME`, `kdt-tutor user disable USERNAME`).
demo-users: install
	@$(BIN)/kdt-tutor user add trainee1 --role trainee --course python-basics --name "Demo Trainee" --password demo-trainee-1 --if-missing
	@$(BIN)/kdt-tutor user add instructor1 --role instructor --course python-basics --name "Demo Instructor" --password demo-instructor-1 --if-missing
	@$(BIN)/kdt-tutor user add admin --role admin --name "Demo Admin" --password demo-admin-1 --if-missing
	@echo ""
	@echo "  Log in at http://$${KDT_HOST:-127.0.0.1}:$${KDT_PORT:-8000}/login with a demo account:"
	@echo "    trainee     trainee1     / demo-trainee-1     (course python-basics)"
	@echo "    instructor  instructor1  / demo-instructor-1  (course python-basics)"
	@echo "    admin       admin        / demo-admin-1"
	@echo "  Demo accounts only: change or disable them outside your own machine."
	@echo ""

run: ingest demo-users
	$(BIN)/kdt-tutor serve

serve: install
	$(BIN)/kdt-tutor serve

test: install
	$(BIN)/python -m pytest -q -ra

test-fast: install
	$(BIN)/python -m pytest -q -m "not integration and not browser"

lint: install
	$(BIN)/ruff check --isolated --select E,F,W,I,B,UP --line-length 100 kdt_tutor api eval tutor knowledge prompts tests bench
	$(BIN)/lint-imports

bench: install
	$(BIN)/python -m bench.run

bench-retrieval: install
	$(BIN)/kdt-tutor eval retrieval ../shared/bench/courses/ML-For-Beginners --json bench/out/retrieval-en.json
	$(BIN)/kdt-tutor eval retrieval ../shared/bench/courses/ML-For-Beginners --kb-lang ko --json bench/out/retrieval-ko.json

# The regression gate: the sample course's eval set and its dialogue set (ours beside the
# LengthRule) against eval/gate.toml (CI runs it).
eval-gate: install
	$(BIN)/kdt-tutor eval run --dataset eval/datasets/python-basics.jsonl --course-dir $(COURSE) --out var/eval/gate
	$(BIN)/kdt-tutor eval run --dataset eval/datasets/python-basics-dialogues.jsonl --course-dir $(COURSE) --out var/eval/gate-dialogues
	$(BIN)/kdt-tutor eval gate var/eval/gate/report.json var/eval/gate-dialogues/report.json

clean:
	rm -rf $(VENV) var bench/out .pytest_cache
