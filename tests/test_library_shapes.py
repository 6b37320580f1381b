"""Tests of ``d2l.Shapes``, the procedurally generated image data set of the chapter
"Modern Convolutional Neural Networks" (chapters/en/chapter_convolutional-modern/alexnet.md).

The data set must be deterministic given its seed, balanced, cheap to make, and honest: a shape is
drawn where its signed distance says, and pixel statistics alone do not give the class away.
"""
import time

import matplotlib

matplotlib.use('Agg', force=True)  # before d2l imports pyplot

import numpy as onp  # noqa: E402
import pytest  # noqa: E402

from d2l import mxnet as d2l  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(d2l, 'Shapes'), reason='d2l.Shapes not saved yet')


@pytest.fixture(scope='module')
def small():
    return d2l.Shapes(batch_size=32, num_train=200, num_val=50, seed=0)


def test_shapes_and_dtypes(small):
    assert small.X.shape == (250, 3, 32, 32) and small.y.shape == (250,)
    assert small.X.dtype == onp.float32 and small.y.dtype == onp.int32
    X, y = next(iter(small.train_dataloader()))
    assert X.shape == (32, 3, 32, 32) and y.shape == (32,)
    assert sum(len(y) for _, y in small.train_dataloader()) == 200
    assert sum(len(y) for _, y in small.val_dataloader()) == 50
    assert len(d2l.Shapes.classes) == 10


def test_other_image_sizes(small):
    data = d2l.Shapes(num_train=20, num_val=10, size=48)
    assert data.X.shape == (30, 3, 48, 48)
    X, y = small.generate(5, onp.random.default_rng(0), size=64)  # size overrides small.size
    assert X.shape == (5, 3, 64, 64) and 0 <= X.min() and X.max() <= 1
    # the same random stream at the data set's own size gives its validation images
    X32, y32 = small.generate(50, onp.random.default_rng([0, 1]))
    assert onp.allclose((X32 - small.mean) / small.std, small.X[200:].asnumpy(), atol=1e-5)
    assert onp.array_equal(y32, small.y[200:].asnumpy())


def test_same_seed_same_images_other_seed_other_images(small):
    again = d2l.Shapes(batch_size=32, num_train=200, num_val=50, seed=0)
    other = d2l.Shapes(batch_size=32, num_train=200, num_val=50, seed=1)
    assert onp.array_equal(small.X.asnumpy(), again.X.asnumpy())
    assert onp.array_equal(small.y.asnumpy(), again.y.asnumpy())
    assert not onp.allclose(small.X.asnumpy(), other.X.asnumpy())


def test_validation_images_do_not_depend_on_the_training_set_size(small):
    bigger = d2l.Shapes(num_train=300, num_val=50, seed=0)
    def raw_val(data):  # undo the standardization, which uses the training images
        return data.X[data.num_train:].asnumpy() * data.std + data.mean
    assert onp.allclose(raw_val(small), raw_val(bigger), atol=1e-5)
    assert onp.array_equal(small.y[200:].asnumpy(), bigger.y[300:].asnumpy())


def test_classes_are_balanced():
    data = d2l.Shapes(num_train=1000, num_val=95)
    y = data.y.asnumpy()
    assert onp.bincount(y[:1000], minlength=10).tolist() == [100] * 10
    val_counts = onp.bincount(y[1000:], minlength=10)
    assert val_counts.max() - val_counts.min() <= 1 and val_counts.sum() == 95


def test_generated_pixels_are_in_range_and_served_standardized(small):
    X, y = small.generate(100, onp.random.default_rng(3))
    assert X.shape == (100, 3, 32, 32) and X.dtype == onp.float32 and y.dtype == onp.int32
    assert X.min() >= 0 and X.max() <= 1
    assert X.std() > 0.1  # not a blank canvas
    train = small.X[:small.num_train].asnumpy()
    assert onp.allclose(train.mean(axis=(0, 2, 3)), 0, atol=1e-3)
    assert onp.allclose(train.std(axis=(0, 2, 3)), 1, atol=1e-3)
    assert small.mean.shape == (1, 3, 1, 1) and (small.std > 0).all()


def test_signed_distance_geometry(small):
    """The centre is inside the filled shapes and outside the ring and the frame; the textures
    cover part of their disc; far away is outside every shape."""
    centre, far = onp.zeros(1, onp.float32), onp.full(1, 2.0, onp.float32)
    t = onp.linspace(-1, 1, 201, dtype=onp.float32)
    u, v = [a.ravel() for a in onp.meshgrid(t, t)]
    in_disc = u ** 2 + v ** 2 < 0.8 ** 2
    for label, name in enumerate(small.classes):
        assert small.signed_distance(label, far, far)[0] > 0, name
        if name in ('stripes', 'checker', 'dots'):
            covered = (small.signed_distance(label, u, v)[in_disc] < 0).mean()
            assert 0.2 < covered < 0.8, (name, covered)
        else:
            inside = small.signed_distance(label, centre, centre)[0] < 0
            assert inside == (name not in ('ring', 'frame')), name
    ring, frame = small.classes.index('ring'), small.classes.index('frame')
    assert small.signed_distance(ring, onp.array([0.68]), onp.array([0.0]))[0] < 0
    assert small.signed_distance(frame, onp.array([0.55]), onp.array([0.0]))[0] < 0


def test_shapes_differ_from_background():
    """Each image has a region in the foreground colour: its pixels are not all alike."""
    data = d2l.Shapes(num_train=100, num_val=10)
    X = data.X[:100].asnumpy() * data.std + data.mean
    spread = X.reshape(100, 3, -1).std(axis=2).max(axis=1)
    assert (spread > 0.1).all()


def test_pixels_alone_do_not_reveal_the_class():
    """A nearest-class-mean classifier on raw pixels stays far below what a CNN reaches."""
    data = d2l.Shapes(num_train=2000, num_val=500)
    X = data.X.asnumpy().reshape(len(data.y), -1)
    y = data.y.asnumpy()
    means = onp.stack([X[:2000][y[:2000] == k].mean(axis=0) for k in range(10)])
    dists = ((X[2000:, None, :] - means[None]) ** 2).sum(axis=2)
    accuracy = (dists.argmin(axis=1) == y[2000:]).mean()
    assert accuracy < 0.3, accuracy


def test_generation_is_fast():
    start = time.process_time()
    d2l.Shapes(num_train=4000, num_val=1000)
    assert time.process_time() - start < 10


def test_text_labels_and_visualize(small):
    assert small.text_labels([0, 9]) == ['disc', 'dots']
    X, y = next(iter(small.val_dataloader()))
    axes = small.visualize((X, y), nrows=2, ncols=5)
    assert len(axes) == 10
    assert [ax.get_title() for ax in axes] == small.text_labels(y[:10])
    image = axes[0].get_images()[0].get_array()
    assert image.shape == (32, 32, 3) and 0 <= image.min() and image.max() <= 1


# ---------------------------------------------------------------- the chapter's models

from mxnet import autograd, np, npx  # noqa: E402
from mxnet.gluon import nn  # noqa: E402

SMALL_MODELS = {
    'AlexNet': lambda: d2l.AlexNet(),
    'VGG': lambda: d2l.VGG(((1, 16), (1, 32), (2, 64), (2, 128)), num_hiddens=256),
    'NiN': lambda: d2l.NiN(),
    'GoogLeNet': lambda: d2l.GoogLeNet(),
    'ResNet': lambda: d2l.ResNet(((2, 16), (2, 32), (2, 64), (2, 128))),
    'DenseNet': lambda: d2l.DenseNet(),
    'AnyNet': lambda: d2l.AnyNet([(1, 8, 1, 8), (2, 16, 2, 4)], stem_channels=8),
}


@pytest.mark.parametrize('name', sorted(SMALL_MODELS))
def test_small_models_map_shapes_to_ten_logits(name):
    if not hasattr(d2l, name):
        pytest.skip(f'd2l.{name} not saved yet')
    npx.random.seed(0)
    model = SMALL_MODELS[name]()
    assert isinstance(model, d2l.ImageClassifier)
    X = np.random.normal(size=(4, 3, 32, 32))
    with autograd.record():
        Y = model(X)
        loss = model.loss(Y, np.array([0, 1, 2, 3], dtype='int32'))
    loss.backward()
    assert Y.shape == (4, 10) and onp.isfinite(float(loss))


def test_image_classifier_uses_momentum_and_weight_decay():
    model = d2l.AlexNet(lr=0.02)
    optimizer = model.configure_optimizers()._optimizer
    assert optimizer.momentum == 0.9 and optimizer.wd == 5e-4 and optimizer.lr == 0.02


def test_layer_table_counts_parameters_and_multiply_adds(capsys):
    net = nn.Sequential()
    net.add(nn.Conv2D(4, 3, padding=1), nn.Flatten(), nn.Dense(5))
    net.initialize()
    d2l.layer_table(net, np.zeros((1, 2, 6, 6)))
    out = capsys.readouterr().out
    conv_macs, dense_macs = 4 * 6 * 6 * (2 * 3 * 3), 5 * 4 * 6 * 6
    params = (4 * 2 * 9 + 4) + (5 * 144 + 5)
    assert f'total params {params:,d}, mult-adds {conv_macs + dense_macs:,d}' in out


def test_scratch_batch_norm_matches_gluon():
    npx.random.seed(0)
    X = np.random.normal(size=(8, 3, 4, 4)) * 5 + 2
    ours, gluons = d2l.BatchNorm(3), nn.BatchNorm()
    ours.initialize()
    gluons.initialize()
    with autograd.record():
        Y1, Y2 = ours(X), gluons(X)
        loss = (Y1 ** 3).sum() + (Y2 ** 3).sum()
    loss.backward()  # MXNet's fused operator updates its running averages in the backward pass
    assert float(np.abs(Y1 - Y2).max()) < 1e-4
    assert onp.allclose(ours.running_mean.data().asnumpy(), gluons.running_mean.data().asnumpy(),
                        atol=1e-5)
    assert float(np.abs(ours(X) - gluons(X)).max()) < 1e-4       # prediction mode
    mean, var = d2l.batch_stats(np.random.normal(size=(5, 7)))  # dense layers: per feature
    assert mean.shape == (7,) and var.shape == (7,)


def test_blocks_keep_or_change_shapes_as_documented():
    X = np.zeros((2, 16, 8, 8))
    cases = [(d2l.Residual(16), (2, 16, 8, 8)),
             (d2l.Residual(32, strides=2, project=True), (2, 32, 4, 4)),
             (d2l.ResNeXtBlock(32, 2, 8, strides=2, project=True), (2, 32, 4, 4)),
             (d2l.Inception(4, (4, 8), (2, 4), 4), (2, 20, 8, 8)),
             (d2l.DenseBlock(3, growth_rate=5), (2, 31, 8, 8)),
             (d2l.DenseBlock(2, growth_rate=4, bottleneck=True), (2, 24, 8, 8)),
             (d2l.vgg_block(2, 12), (2, 12, 4, 4)),
             (d2l.nin_block(6, 3, padding=1, num_outputs=10), (2, 10, 8, 8))]
    for block, shape in cases:
        block.initialize()
        assert block(X).shape == shape, block
