"""The environment as a kernel sees it: Python, installed packages, the framework, the devices.

The build process and the kernels need not share an environment (a kernelspec may name another
Python; a GPU build such as ``mxnet-cu112`` has another distribution name), so the build runs
``PROBE`` in a real kernel once per build and keys the execution cache on what it prints.
"""
import json
from dataclasses import dataclass, field

FRAMEWORKS = ('mxnet',)          # modules of the book's tabs
NOT_KEYED = {'d2l'}              # the book's own library is keyed on its source instead

# Runs inside the kernel; standard library only.
PROBE = r'''
import importlib.metadata as _md, json as _json, os as _os, platform as _pf, subprocess as _sp
def _probe(frameworks):
    packages = {}
    for d in _md.distributions():
        name = (d.metadata['Name'] or '').lower().replace('_', '-')
        if name:
            packages[name] = d.version
    tops = _md.packages_distributions()
    found = {m: sorted(f'{d} {_md.version(d)}' for d in set(tops.get(m, []))) for m in frameworks}
    try:
        out = _sp.run(['nvidia-smi', '--query-gpu=name', '--format=csv,noheader'],
                      capture_output=True, text=True, timeout=30).stdout
    except (OSError, _sp.TimeoutExpired):
        out = ''
    gpus = [l.strip() for l in out.splitlines() if l.strip()]
    visible = _os.environ.get('CUDA_VISIBLE_DEVICES')
    if visible is not None:
        ids = [int(i) for i in visible.split(',') if i.strip().isdigit()]
        gpus = [gpus[i] for i in ids if i < len(gpus)]
    print(_json.dumps({'python': _pf.python_version(), 'machine': _pf.machine(), 'packages': packages,
                       'frameworks': {m: ', '.join(v) or 'not installed' for m, v in found.items()},
                       'gpus': gpus}))
_probe(%r)
'''


@dataclass
class Environment:
    python: str
    machine: str
    packages: dict = field(default_factory=dict)     # distribution name -> version
    frameworks: dict = field(default_factory=dict)   # module -> "distribution version"
    gpus: list = field(default_factory=list)         # one name per GPU

    @classmethod
    def parse(cls, text):
        data = json.loads(text.strip().splitlines()[-1])
        return cls(data['python'], data['machine'], data['packages'], data['frameworks'], data['gpus'])

    def devices(self, count):
        """What a job that gets ``count`` GPUs runs on, e.g. ``cpu`` or ``2 x NVIDIA H200``."""
        if not count:
            return f'cpu ({self.machine})'
        kinds = sorted(set(self.gpus[:count]))
        return f'{count} x {" + ".join(kinds)}'

    def key_parts(self):
        return {'python': self.python, 'machine': self.machine, 'frameworks': self.frameworks,
                'packages': {k: v for k, v in sorted(self.packages.items()) if k not in NOT_KEYED}}

    def describe(self):
        frameworks = ', '.join(f'{v}' for v in self.frameworks.values())
        gpus = f'{len(self.gpus)} GPU(s): {", ".join(sorted(set(self.gpus)))}' if self.gpus else 'no GPU'
        return f'Python {self.python}, {frameworks}, {len(self.packages)} packages, {gpus}'


def probe_source(frameworks=None):
    """``PROBE`` for the modules of the book's tabs (default: the book's own, mxnet)."""
    return PROBE % (tuple(frameworks or FRAMEWORKS),)
