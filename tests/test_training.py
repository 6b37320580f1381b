"""Tests of the training library of ``d2l``: devices and data parallelism, the history,
callbacks, checkpoints, and how training looks in a real notebook kernel."""
import os
import time

import matplotlib

matplotlib.use('Agg', force=True)  # before d2l imports pyplot

import nbformat  # noqa: E402
import numpy as onp  # noqa: E402
import pytest  # noqa: E402
from mxnet import autograd, gluon, np, npx  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from d2l import mxnet as d2l  # noqa: E402

TWO_CPUS = [npx.cpu(0), npx.cpu(1)]


class Batches(d2l.DataModule):
    """Fixed, unshuffled minibatches of a noisy linear function (so runs are comparable)."""
    def __init__(self, n=96, batch_size=20, num_inputs=3):
        self.save_hyperparameters()
        rng = onp.random.RandomState(1)
        X = rng.normal(size=(n, num_inputs)).astype('float32')
        y = X @ onp.arange(1, num_inputs + 1, dtype='float32') + 0.5
        self.X, self.y = np.array(X), np.array(y.reshape(-1, 1))

    def get_dataloader(self, train):
        rows = range(0, self.n // 2) if train else range(self.n // 2, self.n)
        rows = list(rows)
        return [(self.X[rows[i:i + self.batch_size]], self.y[rows[i:i + self.batch_size]])
                for i in range(0, len(rows), self.batch_size)]


def small_mlp(lr=0.05):
    npx.random.seed(0)
    model = d2l.MLPRegression(num_hiddens=(8,), lr=lr)
    return model


def fit(model, devices=None, **kwargs):
    trainer = d2l.Trainer(kwargs.pop('max_epochs', 3), devices=devices, board=False, **kwargs)
    return trainer, trainer.fit(model, Batches())


# ---------------------------------------------------------------- devices

def test_default_device_is_try_gpu():
    assert d2l.Trainer(1).devices == [d2l.try_gpu()]


def test_split_batch_covers_the_batch_once_in_order():
    X, y = np.arange(14).reshape(7, 2), np.arange(7)
    parts = d2l.split_batch([X, y], [npx.cpu(0), npx.cpu(1), npx.cpu(2)])
    assert [len(p[1]) for p in parts] == [2, 3, 2]
    assert [p[0].ctx for p in parts] == [npx.cpu(0), npx.cpu(1), npx.cpu(2)]
    assert onp.concatenate([p[1].asnumpy() for p in parts]).tolist() == list(range(7))
    # fewer examples than devices: no empty slices
    assert len(d2l.split_batch([X[:1], y[:1]], [npx.cpu(0), npx.cpu(1)])) == 1


def test_data_parallel_on_two_contexts_matches_one_device():
    one, h1 = fit(small_mlp())
    model = small_mlp()
    two, h2 = fit(model, TWO_CPUS)
    assert onp.allclose(h1.drop(columns='seconds'), h2.drop(columns='seconds'), rtol=1e-4)
    for param in model.collect_params().values():
        copies = param.list_data()
        assert [c.ctx for c in copies] == TWO_CPUS
        assert onp.allclose(copies[0].asnumpy(), copies[1].asnumpy())   # replicas stay in sync
    assert h2.train_loss.iloc[-1] < h2.train_loss.iloc[0]


def test_gradient_of_a_split_batch_is_the_gradient_of_the_whole_batch():
    data = Batches()
    X, y = next(iter(data.train_dataloader()))
    grads = {}
    for devices in ([npx.cpu(0)], TWO_CPUS):
        model = small_mlp()
        trainer = d2l.Trainer(1, devices=devices, board=False)
        trainer.model = model
        model.to_devices(devices)
        n = len(y)
        with autograd.record():
            losses = [model.training_step(p) * (len(p[-1]) / n)
                      for p in d2l.split_batch([X, y], devices)]
        for loss in losses:
            loss.backward()
        grads[len(devices)] = [sum(g.as_in_ctx(npx.cpu(0)) for g in copies).asnumpy()
                               for copies in model.gradients()]
    for g1, g2 in zip(grads[1], grads[2]):
        assert onp.allclose(g1, g2, atol=1e-6)


def test_scratch_models_stay_on_one_device():
    model = d2l.LinearRegressionScratch(3, lr=0.1)
    with pytest.raises(ValueError, match='one device'):
        model.to_devices(TWO_CPUS)
    model.to_devices([npx.cpu(1)])
    assert model.w.ctx == npx.cpu(1) and model.w.grad is not None
    assert set(model.scratch_params()) == {'w', 'b'}
    trainer, history = fit(model, [npx.cpu(1)])
    assert history.train_loss.iloc[-1] < history.train_loss.iloc[0]


def test_gradient_clipping_bounds_the_total_norm_on_every_device():
    data = Batches()
    X, y = next(iter(data.train_dataloader()))
    model = small_mlp()
    trainer = d2l.Trainer(1, devices=TWO_CPUS, board=False)
    trainer.model = model
    model.to_devices(TWO_CPUS)
    with autograd.record():
        losses = [model.training_step(p) * 100 for p in d2l.split_batch([X, y], TWO_CPUS)]
    for loss in losses:
        loss.backward()
    before = trainer.clip_gradients(0.5)
    assert before > 0.5
    after = trainer.clip_gradients(0.5)
    assert after == pytest.approx(0.5, rel=1e-4)


# ---------------------------------------------------------------- history and callbacks

def test_history_rows_and_validation_metrics_weighted_by_examples():
    model = d2l.SoftmaxRegression(10, lr=0.5)
    data = d2l.Digits(batch_size=100)       # 297 validation images: the last batch has 97
    trainer = d2l.Trainer(2, board=False)
    history = trainer.fit(model, data)
    assert list(history.columns) == ['epoch', 'train_loss', 'val_loss', 'val_acc', 'seconds']
    X, y = data.X[data.num_train:], data.y[data.num_train:]
    exact = float(model.accuracy(model(X), y))
    assert history.val_acc.iloc[-1] == pytest.approx(exact, abs=1e-6)
    assert trainer.history.equals(history)


class Recorder(d2l.Callback):
    def __init__(self, stop_after=None):
        self.events, self.stop_after = [], stop_after

    def on_fit_start(self, trainer):
        self.events.append('start')

    def on_epoch_end(self, trainer, row):
        self.events.append(row['epoch'])
        row['double_loss'] = 2 * row['train_loss']      # callbacks may add columns
        if row['epoch'] == self.stop_after:
            trainer.stop_training = True

    def on_fit_end(self, trainer):
        self.events.append('end')


def test_callbacks_are_called_in_order_and_can_stop_training():
    recorder = Recorder(stop_after=2)
    trainer, history = fit(small_mlp(), callbacks=[recorder], max_epochs=5)
    assert recorder.events == ['start', 1, 2, 'end']
    assert (history.double_loss == 2 * history.train_loss).all()


def test_early_stopping_on_a_rising_loss():
    stopper = d2l.EarlyStopping(monitor='val_loss', patience=2)
    model = small_mlp(lr=0.05)
    trainer, history = fit(model, callbacks=[stopper], max_epochs=40)
    best = history.val_loss.idxmin()
    assert stopper.best_epoch == history.epoch[best]
    if len(history) < 40:
        assert len(history) == stopper.best_epoch + 2
    val = trainer.evaluate(model, Batches().val_dataloader())['loss']
    assert val == pytest.approx(history.val_loss[best], rel=1e-4)   # best parameters restored


# ---------------------------------------------------------------- saving and resuming

def test_state_dict_round_trip_between_instances(tmp_path):
    model = small_mlp()
    fit(model)
    path = str(tmp_path / 'mlp.params')
    model.save(path)
    other = d2l.MLPRegression(num_hiddens=(8,), lr=0.05)   # new instance, shapes not yet known
    other.load(path)
    X = Batches().X[:5]
    assert onp.allclose(model(X).asnumpy(), other(X).asnumpy(), atol=1e-6)
    scratch = d2l.LinearRegressionScratch(3, lr=0.1)
    fit(scratch)
    scratch.save(str(tmp_path / 'lin.params'))
    copy = d2l.LinearRegressionScratch(3, lr=0.1)
    copy.load(str(tmp_path / 'lin.params'))
    assert onp.allclose(copy.w.asnumpy(), scratch.w.asnumpy())


@pytest.mark.parametrize('optimizer', ['sgd', 'adam'])
def test_resuming_a_checkpoint_continues_the_run(tmp_path, optimizer):
    class Model(d2l.MLPRegression):
        def configure_optimizers(self):
            return gluon.Trainer(self.collect_params(), optimizer, {'learning_rate': 0.01})

    directory = str(tmp_path / 'run')
    npx.random.seed(0)
    full = Model(num_hiddens=(8,))
    _, uninterrupted = fit(full, max_epochs=6)
    npx.random.seed(0)
    first = Model(num_hiddens=(8,))
    fit(first, max_epochs=3, callbacks=[d2l.Checkpoint(directory)])
    assert sorted(os.listdir(directory)) == ['history.csv', 'model.params', 'optimizer.states']
    resumed_model = Model(num_hiddens=(8,))          # a fresh model in a "new process"
    trainer = d2l.Trainer(6, board=False)
    resumed = trainer.fit(resumed_model, Batches(), resume=directory)
    assert resumed.epoch.tolist() == [1, 2, 3, 4, 5, 6]
    assert onp.allclose(resumed.drop(columns='seconds'), uninterrupted.drop(columns='seconds'),
                        rtol=1e-4, atol=1e-6)


def test_resume_from_a_missing_directory_starts_from_scratch(tmp_path):
    _, history = fit(small_mlp(), max_epochs=2)
    trainer = d2l.Trainer(2, board=False)
    again = trainer.fit(small_mlp(), Batches(), resume=str(tmp_path / 'none'))
    assert again.epoch.tolist() == [1, 2]


# ---------------------------------------------------------------- in a notebook

def test_training_in_a_kernel_leaves_one_figure_and_later_prints(tmp_path):
    """The live plot replaces itself; text printed after fit in the same cell stays."""
    code = '\n'.join([
        'from d2l import mxnet as d2l',
        'from mxnet import npx',
        'npx.set_np()',
        'model = d2l.SoftmaxRegression(10, lr=0.5)',
        'board = d2l.ProgressBoard(every_seconds=0)   # redraw at every point',
        'history = d2l.Trainer(3, board=board).fit(model, d2l.Digits())',
        "print('final accuracy', round(history.val_acc.iloc[-1], 2))",
    ])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    env_path = os.environ.get('PYTHONPATH', '')
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.environ['PYTHONPATH'] = root + (os.pathsep + env_path if env_path else '')
    try:
        NotebookClient(nb, timeout=120, kernel_name='python3',
                       resources={'metadata': {'path': str(tmp_path)}}).execute()
    finally:
        os.environ['PYTHONPATH'] = env_path
    outputs = nb.cells[0].outputs
    figures = [o for o in outputs if 'image/svg+xml' in o.get('data', {})]
    texts = ''.join(o.get('text', '') for o in outputs if o.output_type == 'stream')
    assert len(figures) == 1, [o.output_type for o in outputs]
    assert 'final accuracy' in texts


def test_recording_a_point_is_cheap():
    board = d2l.ProgressBoard(every_seconds=3600)
    start = time.perf_counter()
    for i in range(20000):
        board.add('loss', i, 1.0)
    assert (time.perf_counter() - start) / 20000 < 50e-6   # far below one drawing (~0.1 s)


def test_scratch_arrays_of_child_blocks_are_found_moved_and_saved(tmp_path):
    class Layer(d2l.Module):
        def __init__(self):
            super().__init__()
            self.W = np.ones((3, 2))
            self.W.attach_grad()

    class Outer(d2l.Module):
        def __init__(self):
            super().__init__()
            self.inner = Layer()
            self.v = np.zeros((2,))
            self.v.attach_grad()

    model = Outer()
    assert sorted(model.scratch_params()) == ['inner.W', 'v']
    model.to_devices([npx.cpu(1)])
    assert model.inner.W.ctx == npx.cpu(1) and model.inner.W.grad is not None
    model.inner.W[:] = 7
    model.save(str(tmp_path / 'outer.params'))
    other = Outer()
    other.load(str(tmp_path / 'outer.params'))
    assert onp.allclose(other.inner.W.asnumpy(), 7)
