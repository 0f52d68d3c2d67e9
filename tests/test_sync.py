"""The notebooks are the source: the committed modules must be exactly what `nbdev-export` makes of them,
and the notebooks must be exactly what `nbdev-clean` leaves. Both are checked on a copy, so the working
tree is never touched, and a module edited by hand is caught."""
import filecmp, shutil, subprocess
from pathlib import Path
from conftest import ROOT, tool

def _copy_project(dst: Path) -> Path:
    for name in ('pyproject.toml', 'README.md'):
        if (ROOT / name).exists(): shutil.copy(ROOT / name, dst / name)
    ignore = shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints')
    shutil.copytree(ROOT / 'nbs', dst / 'nbs', ignore=ignore)
    shutil.copytree(ROOT / 'rlhf_nb', dst / 'rlhf_nb', ignore=ignore)
    return dst

def _py_files(d: Path):
    return sorted(p.relative_to(d) for p in d.rglob('*.py') if '__pycache__' not in p.parts)

def out_of_sync(project: Path) -> list[str]:
    "Modules of `project` that differ from a fresh `nbdev-export` of its notebooks."
    before = project / 'before'
    shutil.copytree(project / 'rlhf_nb', before)
    subprocess.run([tool('nbdev-export')], cwd=project, check=True, capture_output=True)
    after = project / 'rlhf_nb'
    names = set(_py_files(before)) | set(_py_files(after))
    return sorted(str(n) for n in names
                  if not (before / n).exists() or not (after / n).exists() or not filecmp.cmp(before / n, after / n, shallow=False))

def test_modules_match_notebooks(tmp_path):
    diff = out_of_sync(_copy_project(tmp_path))
    assert diff == [], f"run nbdev-export: these modules differ from their notebooks: {diff}"

def test_hand_edited_module_is_caught(tmp_path):
    project = _copy_project(tmp_path)
    core = project / 'rlhf_nb' / 'core.py'
    core.write_text(core.read_text() + '\nEDITED_BY_HAND = True\n')
    assert out_of_sync(project) == ['core.py']

def test_notebooks_are_clean(tmp_path):
    project = _copy_project(tmp_path)
    before = {p: p.read_bytes() for p in (project / 'nbs').rglob('*.ipynb')}
    subprocess.run([tool('nbdev-clean')], cwd=project, check=True, capture_output=True)
    dirty = [str(p.relative_to(project)) for p, b in before.items() if p.read_bytes() != b]
    assert dirty == [], f"run nbdev-clean: these notebooks are not clean: {dirty}"
