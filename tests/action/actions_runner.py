"""Just enough of a GitHub Actions runner to run a composite action's steps the way the real one does.

`run` steps run in bash (`bash --noprofile --norc -eo pipefail FILE`, GitHub's `shell: bash`)
with `${{ }}` expressions substituted, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV /
GITHUB_PATH as files in a temporary folder, and the step's `if:` evaluated (default
`success()`). The three `uses:` steps of the action are played by fakes that check their
inputs: setup-python (hands over a given interpreter), cache (a real store on disk: a later
job restores what an earlier one saved; its post step warns, as the real one does, when the
cached path does not exist) and upload-artifact (names must be unique in a workflow run, as
upload-artifact v4 requires). A `uses:` is matched by the action's name whatever its ref
(the action pins a commit SHA); the refs are recorded in `JobResult.uses`.

The expression language is the subset the action uses; anything else raises, so an
expression this runner does not understand fails the test instead of evaluating to ''.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\))|(?P<name>[A-Za-z_][\w.-]*))")


class ExpressionError(Exception):
    pass


def parse_outputs(text: str) -> dict[str, str]:
    """A GITHUB_OUTPUT / GITHUB_ENV file: `name=value` lines and `name<<DELIM` ... `DELIM` blocks."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body = []
            while lines[i] != delim:
                body.append(lines[i])
                i += 1
            i += 1
            out[name] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            out[name] = value
    return out


@dataclass
class Run:
    """A workflow run: what its jobs share (artifact names, the cache store)."""

    store: Path  # actions/cache entries, one folder per key
    artifacts: dict[str, dict] = field(default_factory=dict)  # name -> {"job": ..., "paths": [...]}


@dataclass
class StepResult:
    name: str
    outcome: str  # success, failure, skipped
    log: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class JobResult:
    status: str  # success or failure
    outputs: dict[str, str]
    summary: str
    steps: list[StepResult]
    env_file: str
    path_file: str
    caches: list[dict]
    post: str = ""  # the post steps' log (actions/cache saves there)
    uses: list[str] = field(default_factory=list)  # every `uses:` run, as written (name@ref)

    @property
    def log(self) -> str:
        steps = "\n".join(f"--- {s.name} ({s.outcome}) ---\n{s.log}" for s in self.steps)
        return steps + (f"\n--- post ---\n{self.post}" if self.post else "")


class Job:
    def __init__(
        self,
        action_dir: Path,
        inputs: dict[str, str],
        *,
        workspace: Path,
        temp: Path,
        run: Run,
        python: str,
        job: str = "conformance",
        job_index: int = 0,
    ):
        self.action_dir = Path(action_dir)
        self.meta = yaml.safe_load((self.action_dir / "action.yml").read_text())
        unknown = set(inputs) - set(self.meta["inputs"])
        if unknown:
            raise ValueError(f"inputs the action does not declare: {sorted(unknown)}")
        self.inputs = {k: str(v.get("default", "")) for k, v in self.meta["inputs"].items()} | inputs
        self.workspace, self.temp, self.run, self.python = Path(workspace), Path(temp), run, python
        self.job, self.job_index = job, job_index
        self.steps: dict[str, dict] = {}  # step id -> {"outputs": {...}, "outcome": ...}
        self.status = "success"
        self.files = self.temp / "_runner_file_commands"
        self.files.mkdir(parents=True, exist_ok=True)
        self.summary = self.files / "step_summary"
        self.env_file = self.files / "env"
        self.path_file = self.files / "path"
        for f in (self.summary, self.env_file, self.path_file):
            f.write_text("")
        self.caches: list[dict] = []
        self.uses: list[str] = []

    # -- expressions ---------------------------------------------------------------------------

    def context(self, name: str) -> str:
        parts = name.split(".")
        root, rest = parts[0], parts[1:]
        if root == "inputs":
            return self.inputs.get(rest[0], "")
        if root == "steps":
            step = self.steps.get(rest[0], {"outputs": {}, "outcome": ""})
            if rest[1] == "outputs":
                return step["outputs"].get(rest[2], "")
            return step[rest[1]]
        if root == "github":
            return {
                "action_path": str(self.action_dir),
                "job": self.job,
                "workspace": str(self.workspace),
                "action_repository": "",
            }[rest[0]]
        if root == "strategy":
            return {"job-index": str(self.job_index), "job-total": "1"}[rest[0]]
        if root == "runner":
            return {"os": "Linux", "temp": str(self.temp), "arch": "X64"}[rest[0]]
        raise ExpressionError(f"unknown context {name!r}")

    def evaluate(self, expr: str):
        tokens, pos = [], 0
        expr = expr.strip()
        while pos < len(expr):
            m = TOKEN.match(expr, pos)
            if not m or m.end() == pos:
                raise ExpressionError(f"cannot parse {expr!r} at {pos}")
            pos = m.end()
            tokens.append(m)
        self._tokens, self._i = tokens, 0
        value = self._or()
        if self._i != len(tokens):
            raise ExpressionError(f"trailing tokens in {expr!r}")
        return value

    def _peek(self):
        return self._tokens[self._i] if self._i < len(self._tokens) else None

    def _or(self):
        v = self._and()
        while (t := self._peek()) is not None and t.group("op") == "||":
            self._i += 1
            r = self._and()
            v = v if _truthy(v) else r
        return v

    def _and(self):
        v = self._cmp()
        while (t := self._peek()) is not None and t.group("op") == "&&":
            self._i += 1
            r = self._cmp()
            v = r if _truthy(v) else v
        return v

    def _cmp(self):
        v = self._unary()
        t = self._peek()
        if t is not None and t.group("op") in ("==", "!="):
            self._i += 1
            r = self._unary()
            equal = str(v).lower() == str(r).lower()  # GitHub compares strings case-insensitively
            return equal if t.group("op") == "==" else not equal
        return v

    def _unary(self):
        t = self._peek()
        if t is None:
            raise ExpressionError("unexpected end of expression")
        self._i += 1
        if t.group("op") == "!":
            return not _truthy(self._unary())
        if t.group("op") == "(":
            v = self._or()
            self._i += 1
            return v
        if t.group("str") is not None:
            return t.group("str")[1:-1].replace("''", "'")
        name = t.group("name")
        if name in ("always", "success", "failure", "cancelled"):
            if [x.group("op") for x in self._tokens[self._i : self._i + 2]] != ["(", ")"]:
                raise ExpressionError(f"{name} must be called")
            self._i += 2
            return {
                "always": True,
                "success": self.status == "success",
                "failure": self.status == "failure",
                "cancelled": False,
            }[name]
        if name in ("true", "false"):
            return name == "true"
        return self.context(name)

    def substitute(self, text: str) -> str:
        def one(m):
            v = self.evaluate(m.group(1))
            return ("true" if v else "false") if isinstance(v, bool) else str(v)

        return EXPR.sub(one, text)

    # -- steps ---------------------------------------------------------------------------------

    def run_job(self, base_env: dict[str, str]) -> JobResult:
        results = []
        for i, step in enumerate(self.meta["runs"]["steps"]):
            name = step.get("name", f"step {i}")
            cond = step.get("if", "success()")
            cond = EXPR.sub(lambda m: m.group(1), str(cond))  # `if:` may or may not wrap itself in ${{ }}
            if not _truthy(self.evaluate(cond)):
                results.append(StepResult(name, "skipped"))
                self._record(step, "skipped", {})
                continue
            if "uses" in step:
                outcome, outputs, log = self._uses(step)
            else:
                outcome, outputs, log = self._run(step, base_env)
            results.append(StepResult(name, outcome, log, outputs))
            self._record(step, outcome, outputs)
            if outcome == "failure" and not step.get("continue-on-error"):
                self.status = "failure"
        post = []
        for c in self.caches:  # actions/cache saves in its post step, when the key was not an exact hit
            if c["hit"] or not c["post"]:  # cache/restore has no post step
                continue
            if not Path(c["path"]).exists():  # the real action's words
                post.append(
                    "Warning: Path Validation Error: Path(s) specified in the action for caching do(es) not exist, "
                    "hence no cache is being saved."
                )
            elif c["key"] not in _store_keys(self.run.store):
                shutil.copytree(c["path"], self.run.store / c["key"])
        outputs = {k: self.substitute(v["value"]) for k, v in self.meta.get("outputs", {}).items()}
        return JobResult(
            self.status,
            outputs,
            self.summary.read_text(),
            results,
            self.env_file.read_text(),
            self.path_file.read_text(),
            self.caches,
            "\n".join(post),
            self.uses,
        )

    def _record(self, step: dict, outcome: str, outputs: dict) -> None:
        if "id" in step:
            self.steps[step["id"]] = {"outputs": outputs, "outcome": outcome, "conclusion": outcome}

    def _run(self, step: dict, base_env: dict[str, str]):
        if step.get("shell") != "bash":
            raise ValueError(f"step {step.get('name')}: every run step of a composite action needs `shell: bash`")
        script = self.substitute(step["run"])
        out_file = self.files / f"output_{len(self.steps)}_{id(step)}"
        out_file.write_text("")
        script_file = self.files / f"step_{id(step)}.sh"
        script_file.write_text(script)
        env = {**base_env}
        env.update(
            {
                "GITHUB_ACTIONS": "true",
                "CI": "true",
                "RUNNER_TEMP": str(self.temp),
                "RUNNER_OS": "Linux",
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_ACTION_PATH": str(self.action_dir),
                "GITHUB_OUTPUT": str(out_file),
                "GITHUB_STEP_SUMMARY": str(self.summary),
                "GITHUB_ENV": str(self.env_file),
                "GITHUB_PATH": str(self.path_file),
                "GITHUB_JOB": self.job,
            }
        )
        env.update(parse_outputs(self.env_file.read_text()))
        extra_path = [p for p in self.path_file.read_text().splitlines() if p]
        if extra_path:
            env["PATH"] = os.pathsep.join([*reversed(extra_path), env.get("PATH", "")])
        env.update({k: self.substitute(_scalar(v)) for k, v in (step.get("env") or {}).items()})
        cwd = self.workspace / self.substitute(step.get("working-directory", "."))
        p = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        return ("success" if p.returncode == 0 else "failure"), parse_outputs(out_file.read_text()), p.stdout + p.stderr

    def _uses(self, step: dict):
        given = {k: self.substitute(_scalar(v)) for k, v in (step.get("with") or {}).items()}
        self.uses.append(step["uses"])
        uses = step["uses"].split("@")[0]
        if uses == "actions/setup-python":
            if given.get("update-environment") != "false":
                return "failure", {}, "setup-python would change the job's Python for later steps"
            return "success", {"python-path": self.python, "python-version": given["python-version"]}, ""
        if uses == "actions/cache/save":  # the real action's warnings, never a failure
            key, path = given["key"], given["path"]
            if not key or not path:
                return "failure", {}, f"cache key {key!r} or path {path!r} is empty"
            if not Path(path).exists():
                return "success", {}, "Warning: Path Validation Error: Path(s) specified in the action for caching "
                "do(es) not exist, hence no cache is being saved."
            if key in _store_keys(self.run.store):
                return "success", {}, f"Warning: Failed to save: Unable to reserve cache with key {key}"
            shutil.copytree(path, self.run.store / key)
            return "success", {}, f"cache {key}: saved"
        if uses in ("actions/cache", "actions/cache/restore"):
            key, path = given["key"], given["path"]
            if not key or "--" in key or key.endswith("-") or not path:
                return "failure", {}, f"cache key {key!r} or path {path!r} has an empty part"
            hit, source = False, None
            keys = _store_keys(self.run.store)
            if key in keys:
                hit, source = True, key
            else:
                for prefix in filter(None, given.get("restore-keys", "").splitlines()):
                    found = sorted(k for k in keys if k.startswith(prefix.strip()))
                    if found:
                        source = found[-1]
                        break
            if source is not None:
                shutil.copytree(self.run.store / source, path, dirs_exist_ok=True)
            self.caches.append(
                {"key": key, "path": path, "hit": hit, "restored": source, "post": uses == "actions/cache"}
            )
            outputs = {
                "cache-hit": "true" if hit else "false",
                "cache-primary-key": key,
                "cache-matched-key": source or "",
            }
            return "success", outputs, f"cache {key}: restored {source}"
        if uses == "actions/upload-artifact":
            name = given["name"]
            paths = [p.strip() for p in given["path"].splitlines() if p.strip()]
            previous = self.run.artifacts.get(name)
            if previous is not None and previous["job"] != (self.job, self.job_index):
                return (
                    "failure",
                    {},
                    f"an artifact named {name!r} already exists in this run (upload-artifact v4 refuses it)",
                )
            files = [p for p in paths if Path(p).is_file()]
            if not name or (not files and given.get("if-no-files-found") == "error"):
                return "failure", {}, "nothing to upload"
            self.run.artifacts[name] = {"job": (self.job, self.job_index), "paths": files}
            return "success", {"artifact-id": str(len(self.run.artifacts))}, f"uploaded {name}: {files}"
        raise ValueError(f"this runner has no fake for {uses}")


def _store_keys(store: Path) -> list[str]:
    return sorted(p.name for p in store.iterdir()) if store.exists() else []


def _scalar(v) -> str:
    """A YAML scalar as the runner passes it on: booleans as true/false, like GitHub does."""
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _truthy(v) -> bool:
    return bool(v) if not isinstance(v, str) else v != ""
