"""Tests of the text loaders and recurrent models of ``d2l`` (chapter "Recurrent Neural Networks").

The corpus, ``d2l/data/book-prose.txt``, is package data: the packaging tests check that the sdist
and the files that ``pip install .`` copies contain it, and that the installed copy is what
``d2l.load_book_text`` reads. Names a chapter has not saved yet are skipped with ``need(...)``.
"""
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import matplotlib

matplotlib.use('Agg', force=True)  # before d2l imports pyplot

import numpy as onp  # noqa: E402
import pytest  # noqa: E402

from d2l import mxnet as d2l  # noqa: E402
from mxnet import autograd, np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / 'd2l' / 'data' / 'book-prose.txt'


def need(*names):
    """Skip the calling test when a chapter has not saved one of ``names`` yet."""
    missing = [n for n in names if not hasattr(d2l, n)]
    if missing:
        pytest.skip('not in d2l.mxnet yet: ' + ', '.join(missing))


def quiet(model):
    """Keep a model's progress board from drawing."""
    if hasattr(model, 'board'):
        model.board.display = False
    return model


# ---------------------------------------------------------------- packaging of the corpus

def copy_packaging(tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('pyproject.toml', 'setup.py', 'MANIFEST.in', 'config.ini'):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / 'd2l', src / 'd2l', ignore=shutil.ignore_patterns('__pycache__'))
    return src


def test_package_sdist_contains_the_book_text(tmp_path):
    pytest.importorskip('setuptools', minversion='61')
    src = copy_packaging(tmp_path)
    code = 'from setuptools import build_meta; print(build_meta.build_sdist("dist"))'
    result = subprocess.run([sys.executable, '-c', code], cwd=src, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    sdist = src / 'dist' / result.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as archive:
        names = [n.split('/', 1)[1] for n in archive.getnames() if '/' in n]
    assert 'd2l/data/book-prose.txt' in names


def test_package_install_copies_the_book_text_and_the_loader_finds_it(tmp_path):
    """`pip install .` builds the package with build_py; its output is what gets installed."""
    pytest.importorskip('setuptools', minversion='61')
    src = copy_packaging(tmp_path)
    result = subprocess.run([sys.executable, 'setup.py', '-q', 'build', '--build-base', 'bld'],
                            cwd=src, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lib = src / 'bld' / 'lib'
    installed = lib / 'd2l' / 'data' / 'book-prose.txt'
    assert installed.read_bytes() == CORPUS.read_bytes()
    assert not (lib / 'd2l' / 'data' / 'make_book_prose.py').exists()   # a tool, not a module
    code = ('import matplotlib; matplotlib.use("Agg")\n'
            'from d2l import mxnet as d2l\n'
            'print(d2l.__file__); print(len(d2l.load_book_text()))')
    result = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, env={'PYTHONPATH': str(lib), 'PATH': ''})
    assert result.returncode == 0, result.stderr
    where, length = result.stdout.split()[-2:]
    assert Path(where).resolve().is_relative_to(lib.resolve())
    assert int(length) == len(CORPUS.read_text(encoding='utf-8'))


# ---------------------------------------------------------------- corpus, tokens, vocabulary

def test_load_book_text_is_plain_english_prose():
    need('load_book_text')
    text = d2l.load_book_text()
    assert isinstance(text, str)
    assert 100_000 < len(text) < 400_000
    assert text.isascii()
    assert '```' not in text and ':numref:' not in text and '$$' not in text
    assert ' the ' in text and 'learning' in text


def test_tokenize_characters_and_words():
    need('tokenize')
    text = "The Model's  loss,\nonce (again) went down."
    chars = d2l.tokenize(text, 'char')
    assert chars[:5] == ['t', 'h', 'e', ' ', 'm']
    assert ''.join(chars) == "the model's loss, once (again) went down."   # one space, lowercase
    assert d2l.tokenize(text) == chars                                       # 'char' is the default
    assert d2l.tokenize(text, level='word') == [
        'the', "model's", 'loss', ',', 'once', '(', 'again', ')', 'went', 'down', '.']
    assert d2l.tokenize('', 'word') == [] and d2l.tokenize(' \n ', 'char') == [' ']
    assert d2l.tokenize('Deep  nets ') == list('deep nets ')             # a final space stays
    with pytest.raises(ValueError):
        d2l.tokenize(text, 'sentence')


def test_vocab_orders_by_frequency_and_maps_both_ways():
    need('Vocab')
    tokens = list('abracadabra')
    vocab = d2l.Vocab(tokens)
    assert vocab.unk == 0 and vocab.to_tokens(0) == '<unk>'
    assert vocab.token_freqs == [('a', 5), ('b', 2), ('r', 2), ('c', 1), ('d', 1)]
    assert len(vocab) == 6
    assert vocab['a'] == 1 and vocab['b'] == 2 and vocab['r'] == 3
    assert vocab['z'] == vocab.unk
    indices = vocab[tokens]
    assert isinstance(indices, list) and len(indices) == len(tokens)
    assert vocab.to_tokens(indices) == tokens
    assert vocab.to_tokens(np.array(indices)) == tokens                # arrays too
    assert vocab.to_tokens(np.array(indices)[0]) == 'a'                 # a 0-d array
    assert vocab[('a', 'q')] == [1, 0]


def test_vocab_min_freq_reserved_tokens_and_nested_lists():
    need('Vocab')
    lines = [['x', 'y', 'x'], ['y', 'x', 'z']]
    vocab = d2l.Vocab(lines, min_freq=2, reserved_tokens=['<pad>', '<eos>'])
    assert vocab.to_tokens(list(range(len(vocab)))) == ['<unk>', '<pad>', '<eos>', 'x', 'y']
    assert vocab['z'] == vocab.unk
    assert vocab.token_freqs == [('x', 3), ('y', 2), ('z', 1)]   # counts of all tokens
    empty = d2l.Vocab()
    assert len(empty) == 1 and empty['anything'] == 0 and empty.token_freqs == []


# ---------------------------------------------------------------- language-model minibatches

def test_book_text_windows_labels_and_split():
    need('BookText')
    data = d2l.BookText(batch_size=4, num_steps=7, num_train=50, num_val=20)
    assert data.num_train == 50 and data.num_val == 20
    assert data.X.shape == (70, 7) and data.Y.shape == (70, 7)
    assert data.X.dtype == onp.int32 and data.Y.dtype == onp.int32
    X, Y = data.X.asnumpy(), data.Y.asnumpy()
    assert (X[:, 1:] == Y[:, :-1]).all()                         # Y is X shifted by one
    tokens = d2l.tokenize(d2l.load_book_text())
    corpus = onp.array(data.vocab[tokens])
    assert (X[0] == corpus[:7]).all() and (Y[0] == corpus[1:8]).all()
    assert (X[1] == corpus[7:14]).all()                          # windows overlap by one token
    n = (len(corpus) - 1) // 7
    assert (X[-1] == corpus[(n - 1) * 7:n * 7]).all()            # validation: the text's end
    train = list(data.train_dataloader())
    val = list(data.val_dataloader())
    assert sum(len(x) for x, _ in train) == 50 and sum(len(x) for x, _ in val) == 20
    x, y = train[0]
    assert x.shape == (4, 7) and y.shape == (4, 7)
    assert ''.join(data.vocab.to_tokens(x[0])).strip()


def test_book_text_defaults_and_word_level():
    need('BookText')
    data = d2l.BookText(batch_size=16, num_steps=32)
    total = (len(d2l.tokenize(d2l.load_book_text())) - 1) // 32
    assert data.num_val == total // 10 and data.num_train == total - total // 10
    assert 40 < len(data.vocab) < 100
    words = d2l.BookText(batch_size=8, num_steps=10, level='word', min_freq=3)
    assert words.vocab['the'] == 1
    assert 500 < len(words.vocab) < 5000
    assert int((words.X == words.vocab.unk).sum()) > 0
    with pytest.raises(ValueError):
        d2l.BookText(num_steps=32, num_train=10 ** 6)


# ---------------------------------------------------------------- recurrent layers and language models

def layers():
    need('RNNScratch', 'RNN')
    return [d2l.RNNScratch(num_inputs=6, num_hiddens=5, sigma=0.3), d2l.RNN(num_hiddens=5)]


@pytest.mark.parametrize('index', [0, 1], ids=['scratch', 'gluon'])
def test_recurrent_layer_interface_and_carried_state(index):
    rnn = layers()[index]
    assert rnn.num_hiddens == 5
    inputs = np.random.normal(size=(7, 3, 6))
    outputs, state = rnn(inputs)
    assert outputs.shape == (7, 3, 5)
    # Reading the sequence in two pieces, passing the state on, gives the same outputs
    first, mid_state = rnn(inputs[:4])
    second, end_state = rnn(inputs[4:], mid_state)
    assert onp.allclose(np.concatenate([first, second]).asnumpy(), outputs.asnumpy(), atol=1e-5)
    last = end_state if index == 0 else end_state[0][0]
    assert onp.allclose(last.asnumpy(), outputs[-1].asnumpy(), atol=1e-5)
    assert float(np.abs(outputs).max()) <= 1   # tanh


def test_rnn_scratch_matches_the_formula():
    need('RNNScratch')
    rnn = d2l.RNNScratch(num_inputs=2, num_hiddens=3, sigma=0.5)
    inputs = np.random.normal(size=(2, 1, 2))
    outputs, _ = rnn(inputs)
    H1 = np.tanh(inputs[0] @ rnn.W_xh + rnn.b_h)
    H2 = np.tanh(inputs[1] @ rnn.W_xh + H1 @ rnn.W_hh + rnn.b_h)
    assert onp.allclose(outputs.asnumpy(), np.stack([H1, H2]).asnumpy(), atol=1e-6)


def small_book(**kwargs):
    return d2l.BookText(batch_size=16, num_steps=8, num_train=160, num_val=32, **kwargs)


def language_model(kind, vocab_size):
    if kind == 'scratch':
        need('RNNScratch', 'RNNLMScratch')
        return d2l.RNNLMScratch(d2l.RNNScratch(vocab_size, 24, sigma=0.1), vocab_size, lr=1)
    need('RNN', 'RNNLM')
    return d2l.RNNLM(d2l.RNN(24), vocab_size, lr=1)


@pytest.mark.parametrize('kind', ['scratch', 'gluon'])
def test_language_model_trains_predicts_and_saves(kind, tmp_path):
    data = small_book()
    V = len(data.vocab)
    model = language_model(kind, V)
    X, Y = next(iter(data.train_dataloader()))
    assert model(X).shape == (16, 8, V)
    assert abs(float(model.loss(model(X), Y)) - onp.log(V)) < 0.1   # uniform at first
    names = set(model.scratch_params())
    if kind == 'scratch':
        assert names == {'W_hq', 'b_q', 'rnn.W_xh', 'rnn.W_hh', 'rnn.b_h'}
    else:
        assert not names and len(model.collect_params().keys()) == 6
    history = d2l.Trainer(max_epochs=3, gradient_clip_val=1, board=False).fit(model, data)
    assert list(history['epoch']) == [1, 2, 3]
    assert {'train_loss', 'val_loss', 'val_acc'} <= set(history.columns)
    assert history['val_loss'].iloc[-1] < onp.log(V) - 0.5     # learned character frequencies
    text = model.predict('the model ', 12, data.vocab)
    assert isinstance(text, str) and text.startswith('the model ') and len(text) == 22
    tokens = model.predict(['t', 'h', 'e'], 4, data.vocab)
    assert tokens[:3] == ['t', 'h', 'e'] and len(tokens) == 7
    assert model.predict('The  Model ', 12, data.vocab) == text      # normalized like tokenize
    # Parameters survive save and load, also those of the recurrent layer
    path = str(tmp_path / 'lm.params')
    model.save(path)
    other = language_model(kind, V)
    other(X)  # resolve Gluon's deferred shapes
    other.load(path)
    assert onp.allclose(other(X).asnumpy(), model(X).asnumpy(), atol=1e-6)
    assert other.predict('the model ', 12, data.vocab) == text


def test_scratch_language_model_clipping_reaches_the_recurrent_layer():
    need('RNNScratch', 'RNNLMScratch')
    data = small_book()
    V = len(data.vocab)
    model = d2l.RNNLMScratch(d2l.RNNScratch(V, 16, sigma=1.0), V, lr=1)
    trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=1e-3, board=False)
    trainer.model = model
    X, Y = next(iter(data.train_dataloader()))
    with autograd.record():
        loss = model.loss(model(X), Y)
    loss.backward()
    assert trainer.clip_gradients(1e-3) > 1e-3
    grads = [g for copies in model.gradients() for g in copies]
    assert len(grads) == 5
    total = sum(float((g ** 2).sum()) for g in grads) ** 0.5
    assert abs(total - 1e-3) < 1e-6
