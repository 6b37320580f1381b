"""Tests of the reader's library ``d2l`` (``from d2l import mxnet as d2l``) and its packaging.

The library is generated from the book's ``#@save`` blocks, written by many authors. Names that a
chapter has not saved yet are skipped with ``need(...)``; everything else must work. Nothing here
reaches the network: the data hub is tested against an HTTP server on 127.0.0.1 that the tests start.
"""
import collections
import configparser
import gzip
import hashlib
import http.server
import io
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import matplotlib

matplotlib.use('Agg', force=True)  # before d2l imports pyplot

import numpy as onp  # noqa: E402
import pytest  # noqa: E402

from bookbuild import library  # noqa: E402
from d2l import mxnet as d2l  # noqa: E402
from mxnet import np, npx  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def need(*names):
    """Skip the calling test when a chapter has not saved one of ``names`` yet."""
    missing = [n for n in names if not hasattr(d2l, n)]
    if missing:
        pytest.skip('not in d2l.mxnet yet: ' + ', '.join(missing))


def quiet_trainer(max_epochs, **kwargs):
    """A trainer without a progress board (its history is still recorded)."""
    return d2l.Trainer(max_epochs, board=False, **kwargs)


# ---------------------------------------------------------------- packaging and consistency

def release():
    config = configparser.ConfigParser()
    config.read(ROOT / 'config.ini', encoding='utf-8')
    return config['project']['release'].strip()


def test_version_is_the_release_in_config_ini():
    import d2l as package
    assert package.__version__ == release()
    assert d2l.__version__ == release()   # the generated module re-exports it


def test_library_is_up_to_date_with_the_book():
    """``python3 build.py lib --check``: the committed d2l/mxnet.py equals a fresh extraction."""
    library.check(ROOT / 'chapters' / 'en', ROOT / 'd2l' / 'mxnet.py')


def test_package_metadata_and_contents(tmp_path):
    """Build an sdist of a copy of the packaging files: version from config.ini, package d2l only."""
    pytest.importorskip('setuptools', minversion='61')
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('pyproject.toml', 'setup.py', 'MANIFEST.in', 'config.ini'):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / 'd2l', src / 'd2l', ignore=shutil.ignore_patterns('__pycache__'))
    for decoy in ('bookbuild', 'tests'):  # must not be packaged
        (src / decoy).mkdir()
        (src / decoy / '__init__.py').write_text('')
    code = 'from setuptools import build_meta; print(build_meta.build_sdist("dist"))'
    result = subprocess.run([sys.executable, '-c', code], cwd=src, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    sdist = src / 'dist' / result.stdout.strip().splitlines()[-1]
    assert sdist.name == f'd2l-{release()}.tar.gz'
    with tarfile.open(sdist) as archive:
        base = f'd2l-{release()}/'
        names = archive.getnames()
        read = lambda name: archive.extractfile(base + name).read().decode()  # noqa: E731
        assert f'Version: {release()}' in read('PKG-INFO').splitlines()
        assert read('d2l.egg-info/top_level.txt').split() == ['d2l']
        requires = read('d2l.egg-info/requires.txt').split()
    assert not any('/bookbuild/' in n or '/tests/' in n for n in names), names
    assert {base + 'd2l/__init__.py', base + 'd2l/mxnet.py'} <= set(names)
    for requirement in ('mxnet==1.9.1', 'numpy==1.23.5', 'matplotlib', 'matplotlib-inline',
                        'pandas', 'scikit-learn', 'ipython'):
        assert requirement in requires


def test_every_public_function_and_class_has_a_docstring():
    import inspect
    undocumented = [name for name, obj in vars(d2l).items()
                    if not name.startswith('_') and (inspect.isfunction(obj) or inspect.isclass(obj))
                    and obj.__module__ == d2l.__name__ and not inspect.getdoc(obj)]
    assert not undocumented


# ---------------------------------------------------------------- devices, timing, plotting

def test_try_gpu_falls_back_to_cpu(monkeypatch):
    monkeypatch.setattr(npx, 'num_gpus', lambda: 0)
    assert d2l.num_gpus() == 0
    assert d2l.try_gpu() == npx.cpu()
    assert d2l.try_gpu(3) == npx.cpu()
    assert d2l.try_all_gpus() == [npx.cpu()]


def test_try_gpu_picks_existing_gpus_only(monkeypatch):
    monkeypatch.setattr(npx, 'num_gpus', lambda: 2)   # contexts are only named, never used
    assert d2l.try_gpu(0) == npx.gpu(0)
    assert d2l.try_gpu(1) == npx.gpu(1)
    assert d2l.try_gpu(2) == npx.cpu()
    assert d2l.try_all_gpus() == [npx.gpu(0), npx.gpu(1)]


def test_try_gpu_on_this_machine():
    ctx = d2l.try_gpu()
    assert ctx == (npx.gpu(0) if npx.num_gpus() > 0 else npx.cpu())
    assert (np.ones(2, ctx=ctx) * 2).sum().item() == 4


def test_timer():
    timer = d2l.Timer()
    time.sleep(0.02)
    first = timer.stop()
    timer.start()
    time.sleep(0.01)
    second = timer.stop()
    assert first >= 0.02 and second >= 0.01
    assert timer.times == [first, second]
    assert timer.sum() == pytest.approx(first + second)
    assert timer.avg() == pytest.approx((first + second) / 2)
    assert timer.cumsum() == pytest.approx([first, first + second])


def test_set_figsize_and_plot_draw_curves():
    d2l.set_figsize((4, 3))
    assert list(d2l.plt.rcParams['figure.figsize']) == [4, 3]
    x = np.arange(0, 3, 0.1)
    d2l.plot(x, [x ** 2, 2 * x - 1], 'x', 'f(x)', legend=['x^2', '2x - 1'])
    axes = d2l.plt.gca()
    assert len(axes.lines) == 2
    assert axes.get_xlabel() == 'x' and axes.get_ylabel() == 'f(x)'
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ['x^2', '2x - 1']
    assert onp.allclose(axes.lines[0].get_ydata(), (x ** 2).asnumpy())


def test_plot_one_curve_against_indices_with_log_scale():
    fig, axes = d2l.plt.subplots()
    d2l.plot([1, 10, 100], axes=axes, yscale='log', xlim=[0, 2])
    assert len(axes.lines) == 1
    assert list(axes.lines[0].get_xdata()) == [0, 1, 2]
    assert axes.get_yscale() == 'log' and axes.get_xlim() == (0, 2)


def test_show_images_returns_a_grid_of_axes():
    need('show_images')
    imgs = [np.random.uniform(size=(8, 8)) for _ in range(5)]
    axes = d2l.show_images(imgs, 2, 3, titles=list('abcde'))
    assert len(axes) == 5               # one per image; the sixth cell stays empty
    assert len(axes[0].figure.axes) == 5
    assert [ax.get_title() for ax in axes] == list('abcde')
    assert len(axes[0].images) == 1
    assert axes[4].get_subplotspec().get_geometry()[:2] == (2, 3)


def test_progress_board_records_without_drawing_until_due():
    board = d2l.ProgressBoard(xlabel='epoch', every_seconds=60)
    for x, y in [(1, 4.0), (2, 2.0), (3, 1.0)]:
        board.add('loss', x, y)
    board.add('val_loss', 3, 2.5)
    assert board.curves['loss'] == ([1.0, 2.0, 3.0], [4.0, 2.0, 1.0])
    assert board.fig is None                      # nothing drawn yet
    board.show()
    assert [line.get_label() for line in board.ax.lines] == ['loss', 'val_loss']
    assert list(board.lines['loss'].get_ydata()) == [4.0, 2.0, 1.0]
    assert board.ax.get_xlabel() == 'epoch'
    board.add('loss', 4, 0.5)
    board.show()                                  # the same lines are updated in place
    assert len(board.ax.lines) == 2 and list(board.lines['loss'].get_xdata()) == [1, 2, 3, 4]


def test_progress_board_redraws_at_most_every_interval():
    board = d2l.ProgressBoard(every_seconds=0.2)
    drawn = []
    board.show = lambda: (drawn.append(time.perf_counter()),
                          setattr(board, 'drawn_at', time.perf_counter()))
    start = time.perf_counter()
    while time.perf_counter() - start < 0.5:
        board.add('loss', 0, 1.0)
    assert 1 <= len(drawn) <= 3
    assert len(board.curves['loss'][0]) > 100 * len(drawn)


def test_hyperparameters_and_add_to_class():
    class Thing(d2l.HyperParameters):
        def __init__(self, a, b=2, c=3):
            self.save_hyperparameters(ignore=['c'])

    @d2l.add_to_class(Thing)
    def total(self):
        return self.a + self.b

    thing = Thing(1, b=5)
    assert (thing.a, thing.b, hasattr(thing, 'c')) == (1, 5, False)
    assert thing.total() == 6


# ---------------------------------------------------------------- data modules

def test_synthetic_regression_data_batches():
    w, b = np.array([2.0, -3.4]), 4.2
    data = d2l.SyntheticRegressionData(w, b, num_train=100, num_val=40, batch_size=32)
    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (32, 2) and y.shape == (32, 1)
    assert X.dtype == onp.float32 and y.dtype == onp.float32
    assert sum(len(y) for _, y in data.train_dataloader()) == 100
    assert sum(len(y) for _, y in data.val_dataloader()) == 40
    # the labels follow the linear model up to the noise
    residual = data.y - (np.dot(data.X, w.reshape(-1, 1)) + b)
    assert float(np.abs(residual).max()) < 0.1


def test_digits_batches():
    need('Digits')
    data = d2l.Digits(batch_size=64)
    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (64, 1, 8, 8) and y.shape == (64,)
    assert X.dtype == onp.float32 and y.dtype == onp.int32
    assert 0 <= float(X.min()) and float(X.max()) <= 1
    assert sum(len(y) for _, y in data.train_dataloader()) == 1500
    assert sum(len(y) for _, y in data.val_dataloader()) == 1797 - 1500
    assert set(y.asnumpy().tolist()) <= set(range(10))
    assert data.text_labels([0, 9]) == ['zero', 'nine']
    axes = data.visualize((X[:8], y[:8]))
    assert [ax.get_title() for ax in axes] == data.text_labels(y[:8])


def test_digits_resize_and_seeded_split():
    need('Digits')
    big = d2l.Digits(batch_size=16, resize=16)
    X, _ = next(iter(big.val_dataloader()))
    assert X.shape == (16, 1, 16, 16)
    a, b = d2l.Digits(seed=0), d2l.Digits(seed=0)
    assert (a.y == b.y).all()


def test_noisy_digits_corrupts_training_labels_only():
    need('NoisyDigits')
    data = d2l.NoisyDigits(noise=0.5)
    changed = (data.y != data.y_clean).asnumpy()
    assert changed[:data.num_train].mean() > 0.3        # about 90% of the resampled labels change
    assert not changed[data.num_train:].any()            # validation labels are clean


def test_tabular_data_and_k_fold_split():
    need('TabularData', 'k_fold_split')
    import pandas as pd
    df = pd.DataFrame({'x': onp.arange(10.0), 'kind': list('ababababab'),
                       'target': onp.arange(10.0) * 2})
    train, val = d2l.k_fold_split(df, 5, 1)
    assert list(val.index) == [2, 3] and len(train) == 8
    data = d2l.TabularData(train, val, categorical=['kind'], batch_size=4)
    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (4, 3) and y.shape == (4, 1)          # x + two one-hot columns
    assert X.dtype == onp.float32 and y.dtype == onp.float32


# ---------------------------------------------------------------- models and training

def test_accuracy_on_hand_made_cases():
    need('Classifier')
    clf = d2l.Classifier()
    Y_hat = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    Y = np.array([1, 0, 0, 1], dtype='int32')
    assert float(clf.accuracy(Y_hat, Y)) == pytest.approx(0.5)
    assert clf.accuracy(Y_hat, Y, averaged=False).asnumpy().tolist() == [1, 1, 0, 0]
    assert float(clf.accuracy(Y_hat, np.array([1, 0, 1, 0], dtype='int32'))) == 1.0
    assert float(clf.accuracy(Y_hat, np.array([0, 1, 0, 1], dtype='int32'))) == 0.0
    # logits of a batch of sequences: (2, 2, 3) are flattened to 4 predictions
    logits = np.array([[[5, 0, 0], [0, 5, 0]], [[0, 0, 5], [5, 0, 0]]], dtype='float32')
    assert float(clf.accuracy(logits, np.array([[0, 1], [2, 2]], dtype='int32'))) == 0.75


def test_softmax_and_cross_entropy():
    need('softmax', 'cross_entropy')
    O = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]])
    P = d2l.softmax(O)
    assert onp.allclose(P.sum(axis=1).asnumpy(), 1)
    assert onp.allclose(P[1].asnumpy(), 1 / 3)            # no overflow for large logits
    y = np.array([2, 0], dtype='int32')
    expected = -(onp.log(P[0, 2].item()) + onp.log(1 / 3)) / 2
    assert float(d2l.cross_entropy(P, y)) == pytest.approx(expected, rel=1e-5)


def test_relu_and_dropout_layer():
    need('relu', 'dropout_layer')
    assert d2l.relu(np.array([-1.0, 0.0, 2.0])).asnumpy().tolist() == [0, 0, 2]
    X = np.ones((1000, 10))
    assert (d2l.dropout_layer(X, 0) == X).all()
    assert float(d2l.dropout_layer(X, 1).sum()) == 0
    Y = d2l.dropout_layer(X, 0.5)
    kept = (Y != 0).asnumpy()
    assert 0.45 < kept.mean() < 0.55
    assert onp.allclose(Y.asnumpy()[kept], 2)               # survivors are scaled by 1/(1-p)


def validation_loss(model, data):
    losses = [float(model.loss(model(X), y)) for X, y in data.val_dataloader()]
    return sum(losses) / len(losses)


def test_linear_regression_scratch_trains():
    need('LinearRegressionScratch')
    w, b = np.array([2.0, -3.4]), 4.2
    data = d2l.SyntheticRegressionData(w, b, num_train=500, num_val=200)
    model = d2l.LinearRegressionScratch(2, lr=0.1)
    before = validation_loss(model, data)
    history = quiet_trainer(3).fit(model, data)
    after = validation_loss(model, data)
    assert after < before / 100
    assert onp.allclose(model.w.reshape(-1).asnumpy(), w.asnumpy(), atol=0.05)
    assert abs(model.b.item() - b) < 0.05
    assert list(history.columns) == ['epoch', 'train_loss', 'val_loss', 'seconds']
    assert history.epoch.tolist() == [1, 2, 3]
    assert history.val_loss.iloc[-1] == pytest.approx(after, rel=0.05)


def test_linear_regression_concise_trains_with_gradient_clipping():
    need('LinearRegression')
    w, b = np.array([2.0, -3.4]), 4.2
    data = d2l.SyntheticRegressionData(w, b, num_train=500, num_val=200)
    model = d2l.LinearRegression(lr=0.1)
    quiet_trainer(5, gradient_clip_val=5).fit(model, data)
    w_hat, b_hat = model.get_w_b()
    assert onp.allclose(w_hat.reshape(-1).asnumpy(), w.asnumpy(), atol=0.05)
    assert abs(b_hat.item() - b) < 0.05
    assert validation_loss(model, data) < 1e-3


CLASSIFIERS = {
    'SoftmaxRegressionScratch': lambda: d2l.SoftmaxRegressionScratch(64, 10, lr=0.5),
    'SoftmaxRegression': lambda: d2l.SoftmaxRegression(10, lr=0.5),
    'MLPScratch': lambda: d2l.MLPScratch(64, 10, 32, lr=0.5, sigma=0.1),
    'MLP': lambda: d2l.MLP(10, 32, lr=0.5),
    'DropoutMLP': lambda: d2l.DropoutMLP(10, (32, 32), (0.1, 0.1), lr=0.5),
    'DropoutMLPScratch': lambda: d2l.DropoutMLPScratch(10, (32, 32), (0.1, 0.1), lr=0.5),
}


@pytest.mark.parametrize('name', sorted(CLASSIFIERS))
def test_classifiers_learn_digits(name):
    need(name, 'Digits')
    data = d2l.Digits(batch_size=64)
    model = CLASSIFIERS[name]()
    assert isinstance(model, d2l.Classifier)
    history = quiet_trainer(4).fit(model, data)
    assert history.train_loss.iloc[-1] < history.train_loss.iloc[0] / 2, history
    assert history.val_acc.iloc[-1] > 0.8


def test_mlp_regression_on_tabular_data():
    need('MLPRegression', 'TabularData')
    import pandas as pd
    rng = onp.random.RandomState(0)
    x = rng.normal(size=300)
    df = pd.DataFrame({'x': x, 'target': 3 * x + rng.normal(scale=0.1, size=300)})
    data = d2l.TabularData(df[:200], df[200:], batch_size=16)
    model = d2l.MLPRegression(lr=0.05)
    before = data.rmse(model, df[200:])
    quiet_trainer(5).fit(model, data)
    assert data.rmse(model, df[200:]) < min(before / 5, 0.3)



def test_k_fold_cross_validation():
    need('k_fold', 'MLPRegression')
    import pandas as pd
    rng = onp.random.RandomState(0)
    x = rng.normal(size=120)
    df = pd.DataFrame({'x': x, 'target': 2 * x + rng.normal(scale=0.1, size=120)})
    rmses, curve = d2l.k_fold(lambda: d2l.MLPRegression(lr=0.05), df, k=3, max_epochs=4)
    assert len(rmses) == 3 and len(curve) == 4
    assert curve[-1] < curve[0] and max(rmses) < 1


def test_early_stopping_restores_the_best_parameters():
    need('EarlyStopping', 'SoftmaxRegression', 'Digits')
    data = d2l.Digits(batch_size=64)
    model = d2l.SoftmaxRegression(10, lr=3.0)      # a large step makes the curve bumpy
    stopper = d2l.EarlyStopping(monitor='val_loss', patience=1)
    history = quiet_trainer(30, callbacks=[stopper]).fit(model, data)
    best = history.val_loss.idxmin()
    assert stopper.best_epoch == history.epoch[best]
    assert len(history) < 30 and len(history) == stopper.best_epoch + 1   # patience 1
    assert d2l.Trainer(1).evaluate(model, data.val_dataloader())['loss'] == pytest.approx(
        history.val_loss[best], rel=1e-4)


# ---------------------------------------------------------------- the data hub

class HubServer:
    """An HTTP server on 127.0.0.1 that serves in-memory files and counts the requests per path.

    Paths in ``drop`` get no answer (the connection is closed); paths in ``truncate`` send half
    of the bytes that they announce, then close the connection.
    """

    def __init__(self):
        self.files, self.drop, self.truncate = {}, set(), set()
        self.hits = collections.Counter()
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.lstrip('/')
                hub.hits[path] += 1
                if path in hub.drop:
                    self.close_connection = True
                    return
                if path not in hub.files:
                    self.send_error(404)
                    return
                body = hub.files[path]
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body[:len(body) // 2] if path in hub.truncate else body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.05},
                                       daemon=True)
        self.thread.start()

    def publish(self, path, content):
        """Serve ``content`` at ``path``; return the (URL, SHA-1) pair to register."""
        self.files[path] = content
        return self.url(path), hashlib.sha1(content).hexdigest()

    def url(self, path):
        return f'http://127.0.0.1:{self.httpd.server_port}/{path}'

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def hub(monkeypatch):
    """A local server, and a DATA_HUB whose additions are undone after the test."""
    monkeypatch.setattr(d2l, 'DATA_HUB', dict(d2l.DATA_HUB))
    monkeypatch.delenv('D2L_DATA_DIR', raising=False)
    server = HubServer()
    yield server
    server.close()


CONTENT = b'x,y\n' + b''.join(b'%d,%d\n' % (i, i * i) for i in range(200))


def test_download_then_reuse_the_verified_file(hub, tmp_path):
    d2l.DATA_HUB['squares'] = hub.publish('files/squares.csv', CONTENT)
    path = d2l.download('squares', str(tmp_path))
    assert Path(path) == tmp_path / 'squares.csv'
    assert Path(path).read_bytes() == CONTENT
    assert sorted(os.listdir(tmp_path)) == ['squares.csv']  # no .part file is left behind
    assert d2l.download('squares', str(tmp_path)) == path
    assert hub.hits['files/squares.csv'] == 1               # the server was not asked again
    assert d2l.sha1_file(path) == hashlib.sha1(CONTENT).hexdigest()
    assert d2l.sha1_file(path, chunk_size=7) == d2l.sha1_file(path)


def test_a_damaged_cached_file_is_downloaded_again(hub, tmp_path):
    d2l.DATA_HUB['squares'] = hub.publish('squares.csv', CONTENT)
    path = Path(d2l.download('squares', str(tmp_path)))
    path.write_bytes(CONTENT[:-10])                          # truncated on disk
    assert d2l.download('squares', str(tmp_path)) == str(path)
    assert path.read_bytes() == CONTENT
    assert hub.hits['squares.csv'] == 2


def test_a_corrupt_download_is_rejected(hub, tmp_path):
    url, sha1 = hub.publish('squares.csv', CONTENT)
    hub.files['squares.csv'] = CONTENT.replace(b'4,16', b'4,17')  # the server holds another version
    d2l.DATA_HUB['squares'] = (url, sha1)
    with pytest.raises(ValueError) as e:
        d2l.download('squares', str(tmp_path))
    assert 'squares' in str(e.value) and url in str(e.value) and sha1 in str(e.value)
    assert os.listdir(tmp_path) == []                        # nothing unverified is kept


def test_a_corrupt_download_keeps_the_old_cached_file(hub, tmp_path):
    url, sha1 = hub.publish('squares.csv', b'new version')
    d2l.DATA_HUB['squares'] = (url, sha1)
    (tmp_path / 'squares.csv').write_bytes(b'old version')  # wrong digest: downloaded again
    hub.files['squares.csv'] = b'tampered'
    with pytest.raises(ValueError):
        d2l.download('squares', str(tmp_path))
    assert (tmp_path / 'squares.csv').read_bytes() == b'old version'


def test_a_dropped_connection_names_data_set_url_and_path(hub, tmp_path):
    url, sha1 = hub.publish('big.bin', CONTENT)
    hub.drop.add('big.bin')
    d2l.DATA_HUB['big'] = (url, sha1)
    with pytest.raises(OSError) as e:
        d2l.download('big', str(tmp_path))
    target = str((tmp_path / 'big.bin').resolve())
    message = str(e.value)
    assert "'big'" in message and url in message and target in message and sha1 in message
    assert os.listdir(tmp_path) == []
    # the advice works: a copy put there by hand is used without the server
    Path(target).write_bytes(CONTENT)
    assert d2l.download('big', str(tmp_path)) == str(tmp_path / 'big.bin')
    assert hub.hits['big.bin'] == 1


def test_a_truncated_response_is_an_error(hub, tmp_path):
    d2l.DATA_HUB['squares'] = hub.publish('squares.csv', CONTENT)
    hub.truncate.add('squares.csv')
    with pytest.raises((OSError, ValueError)) as e:
        d2l.download('squares', str(tmp_path))
    assert 'squares' in str(e.value)
    assert os.listdir(tmp_path) == []


def test_http_errors_and_unknown_names(hub, tmp_path):
    d2l.DATA_HUB['gone'] = (hub.url('gone.csv'), '0' * 40)
    with pytest.raises(OSError, match='404'):
        d2l.download('gone', str(tmp_path))
    with pytest.raises(KeyError, match='nothing'):
        d2l.download('nothing', str(tmp_path))


def test_an_unreachable_server(hub, tmp_path):
    hub.close()                                               # nothing listens on that port now
    d2l.DATA_HUB['squares'] = (hub.url('squares.csv'), '0' * 40)
    with pytest.raises(OSError) as e:
        d2l.download('squares', str(tmp_path))
    assert str((tmp_path / 'squares.csv').resolve()) in str(e.value)


def test_cache_dir_from_environment_and_default(hub, tmp_path, monkeypatch):
    d2l.DATA_HUB['squares'] = hub.publish('squares.csv', CONTENT)
    monkeypatch.setenv('D2L_DATA_DIR', str(tmp_path / 'shared'))
    assert d2l.download('squares') == str(tmp_path / 'shared' / 'squares.csv')
    assert d2l.download('squares', str(tmp_path / 'explicit')) == str(tmp_path / 'explicit' / 'squares.csv')
    monkeypatch.delenv('D2L_DATA_DIR')
    (tmp_path / 'chapter').mkdir()
    monkeypatch.chdir(tmp_path / 'chapter')
    assert d2l.download('squares') == os.path.join('..', 'data', 'squares.csv')
    assert (tmp_path / 'data' / 'squares.csv').read_bytes() == CONTENT
    assert hub.hits['squares.csv'] == 3


def zip_bytes(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def tar_bytes(files, mode):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.mark.parametrize('filename, pack', [
    ('pack.zip', zip_bytes),
    ('pack.tar', lambda files: tar_bytes(files, 'w')),
    ('pack.tar.gz', lambda files: tar_bytes(files, 'w:gz')),
    ('pack.tgz', lambda files: tar_bytes(files, 'w:gz')),
])
def test_download_extract(hub, tmp_path, filename, pack):
    files = {'pack/a.txt': b'alpha', 'pack/sub/b.txt': b'beta'}
    d2l.DATA_HUB['pack'] = hub.publish(filename, pack(files))
    folder = d2l.download_extract('pack', cache_dir=str(tmp_path))
    assert folder == str(tmp_path / 'pack')
    assert (tmp_path / 'pack' / 'a.txt').read_bytes() == b'alpha'
    assert (tmp_path / 'pack' / 'sub' / 'b.txt').read_bytes() == b'beta'
    assert d2l.download_extract('pack', 'pack/sub', str(tmp_path)) == str(tmp_path / 'pack' / 'sub')
    assert hub.hits[filename] == 1


def test_download_extract_rejects_other_files(hub, tmp_path):
    d2l.DATA_HUB['plain'] = hub.publish('plain.csv', CONTENT)
    with pytest.raises(ValueError, match='neither a zip nor a tar'):
        d2l.download_extract('plain', cache_dir=str(tmp_path))


def idx_bytes(array):
    array = onp.asarray(array, dtype=onp.uint8)
    return bytes([0, 0, 8, array.ndim]) + onp.array(array.shape, dtype='>u4').tobytes() + array.tobytes()


def test_read_idx(tmp_path):
    images = onp.random.RandomState(0).randint(0, 256, size=(3, 4, 5))
    (tmp_path / 'a-idx3-ubyte').write_bytes(idx_bytes(images))
    (tmp_path / 'a-idx3-ubyte.gz').write_bytes(gzip.compress(idx_bytes(images)))
    for name in ('a-idx3-ubyte', 'a-idx3-ubyte.gz'):
        array = d2l.read_idx(str(tmp_path / name))
        assert array.dtype == onp.uint8 and (array == images).all()
    (tmp_path / 'bad').write_bytes(b'\x00\x00\x0d\x01' + bytes(8))  # 0x0d: float, not bytes
    with pytest.raises(ValueError, match='idx'):
        d2l.read_idx(str(tmp_path / 'bad'))


def test_fashion_mnist_is_registered():
    names = [f'fashion_mnist_{split}_{kind}' for split in ('train', 't10k') for kind in ('images', 'labels')]
    for name in names:
        url, sha1 = d2l.DATA_HUB[name]
        assert url.startswith(d2l.DATA_URL) and url.endswith('-ubyte.gz')
        assert len(sha1) == 40 and int(sha1, 16) >= 0
    assert len({d2l.DATA_HUB[n][1] for n in names}) == 4


def test_fashion_mnist_loads_through_the_hub(hub, tmp_path):
    """Fashion-MNIST's loader on small files of the same format served by the local server."""
    rng = onp.random.RandomState(0)
    sizes = {'train': 10, 't10k': 6}
    images = {s: rng.randint(0, 256, size=(n, 28, 28)) for s, n in sizes.items()}
    labels = {s: rng.randint(0, 10, size=n) for s, n in sizes.items()}
    for split in sizes:
        for kind, array, dims in (('images', images[split], 3), ('labels', labels[split], 1)):
            path = f'fashion-mnist/{split}-{kind}-idx{dims}-ubyte.gz'
            d2l.DATA_HUB[f'fashion_mnist_{split}_{kind}'] = hub.publish(path, gzip.compress(idx_bytes(array)))
    data = d2l.FashionMNIST(batch_size=4, root=str(tmp_path))
    assert data.X_train.shape == (10, 1, 28, 28) and data.X_val.shape == (6, 1, 28, 28)
    assert data.X_train.dtype == onp.float32 and data.y_train.dtype == onp.int32
    assert onp.allclose(data.X_train[:, 0].asnumpy(), images['train'] / 255)
    assert (data.y_val.asnumpy() == labels['t10k']).all()
    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (4, 1, 28, 28) and y.shape == (4,)
    assert sum(len(y) for _, y in data.val_dataloader()) == 6
    assert data.text_labels([0, 9]) == ['T-shirt/top', 'Ankle boot']
    assert len(data.visualize((X, y), ncols=4)) == 4
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in hub.files)
    # a second loader reads the cache; resize works for a pair and for an int
    assert d2l.FashionMNIST(resize=(14, 21), root=str(tmp_path)).X_val.shape == (6, 1, 14, 21)
    assert d2l.FashionMNIST(resize=32, root=str(tmp_path)).X_train.shape == (10, 1, 32, 32)
    assert set(hub.hits.values()) == {1}
