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


@pytest.fixture(autouse=True)
def closed_figures():
    yield
    d2l.plt.close('all')


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


def test_other_image_sizes():
    data = d2l.Shapes(num_train=20, num_val=10, size=48)
    assert data.X.shape == (30, 3, 48, 48)


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
