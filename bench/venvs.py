"""The baselines' virtual environments (stable-baselines3 for bench_ppo.py, imitation for bench_imitation.py): made
once each, never dependencies of rlhf_nb nor imported in its venv."""
import subprocess, sys
from pathlib import Path


def baseline_python(venv:str|Path, # where the venv lives
                    packages:list[str], # pinned requirements, e.g. ['stable-baselines3==2.9.2']
                    name:str, # what it holds, with versions: its stamp file is `.NAME`
                   ) -> Path:
    "The python of `venv`, made if missing: torch==2.13.0 first (a CPU wheel, so no CUDA build is ever pulled in), then `packages` with torch pinned beside them, so pip cannot replace it."
    venv = Path(venv)
    py, stamp = venv / 'bin' / 'python', venv / f'.{name}'
    if not stamp.exists():
        print(f"making the {name} venv at {venv} (once) ...", flush=True)
        subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
        pip = [str(py), '-m', 'pip', 'install', '-q', '--disable-pip-version-check']
        subprocess.run(pip + ['torch==2.13.0'], check=True)
        subprocess.run(pip + ['torch==2.13.0', *packages], check=True)
        stamp.touch()
    return py
