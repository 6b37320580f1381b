"""Tests of the library code of the chapter "Modern Recurrent Neural Networks"
(chapters/en/chapter_recurrent-modern/): the rule-made English-French corpus (``d2l.EnglishFrench``),
its tokenizer and data module (``d2l.MTData``), the encoder-decoder classes, ``d2l.bleu`` and
``d2l.beam_search``, and the recurrent layers (LSTM, GRU, stacked, bidirectional), which must compute
exactly what Gluon's layers compute and must train inside the language models of the previous chapter.

The corpus must be deterministic given its seed, grammatical by the rules the book states, free of
duplicates, and split into training and validation pairs that do not overlap.
"""
import collections
import math

import matplotlib

matplotlib.use('Agg', force=True)  # before d2l imports pyplot

import numpy as onp  # noqa: E402
import pytest  # noqa: E402

from d2l import mxnet as d2l  # noqa: E402
from mxnet import np  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(d2l, 'MTData'), reason='d2l.MTData not saved yet')


def need(*names):
    missing = [n for n in names if not hasattr(d2l, n)]
    if missing:
        pytest.skip('not in d2l.mxnet yet: ' + ', '.join(missing))


@pytest.fixture(scope='module')
def data():
    return d2l.MTData(batch_size=64, num_steps=20, num_train=1000, num_val=200, seed=0)


# ---------------------------------------------------------------- the corpus

def test_corpus_is_deterministic_and_distinct():
    a = d2l.EnglishFrench(seed=3).corpus(300)
    b = d2l.EnglishFrench(seed=3).corpus(300)
    c = d2l.EnglishFrench(seed=4).corpus(300)
    assert a == b
    assert a != c
    assert len(set(a)) == 300
    for english, french in a:
        assert english[0].isupper() and english.endswith('.')
        assert french[0].isupper() and french.endswith('.')


def test_spelling_rules():
    grammar = d2l.EnglishFrench()
    assert grammar.write(['je', 'ai', 'le', 'arbre']) == "J'ai l'arbre."
    assert grammar.write(['paul', 'ne', 'aime', 'pas', 'de', 'oiseau']) == "Paul n'aime pas d'oiseau."
    assert grammar.write(['je', 'vois', 'la', 'voiture', 'de', 'anna']) == "Je vois la voiture d'Anna."
    assert grammar.write(['i', 'see', 'anna', "'s", 'car']) == "I see Anna's car."
    assert grammar.write(['je', 'ne', 'vois', 'pas', 'le', 'chat']) == 'Je ne vois pas le chat.'


def test_translations_follow_the_rules():
    """Check the stated rules on many sampled pairs, word by word."""
    grammar = d2l.EnglishFrench(seed=1)
    nouns = grammar.nouns
    french_adjectives = {form for forms, _ in grammar.adjectives.values() for form in forms.split()}
    for english, french in grammar.corpus(2000):
        en, fr = d2l.tokenize_mt(english), d2l.tokenize_mt(french)
        assert en.count('and') == fr.count('et')
        assert en.count('not') == fr.count('pas') == fr.count('ne') + fr.count("n'")
        owners = sum(1 for w, v in zip(fr, fr[1:]) if w in ('de', "d'") and v in ('anna', 'paul'))
        assert en.count("'s") == owners  # Paul's car -> la voiture de Paul
        for word in en:  # every English noun has its French noun (in the right number)
            for singular, (plural, fr_sg, fr_pl, _) in nouns.items():
                if word == singular:
                    assert fr_sg in fr
                if word == plural:
                    assert fr_pl in fr
        # color adjectives follow their noun, size adjectives precede it
        for i, word in enumerate(fr):
            if word in french_adjectives:
                before = word.startswith(('grand', 'petit'))
                neighbor = fr[i + 1] if before else fr[i - 1]
                assert any(neighbor in (fr_sg, fr_pl) for _, fr_sg, fr_pl, _ in nouns.values())


def test_agreement_examples():
    grammar = d2l.EnglishFrench(seed=2)
    pairs = dict(grammar.corpus(5000))
    found = collections.Counter()
    for english, french in pairs.items():
        if 'green flowers' in english:
            assert 'fleurs vertes' in french
            found['fleurs vertes'] += 1
        if 'big trees' in english:
            assert 'grands arbres' in french
            found['grands arbres'] += 1
        if english.startswith('I do not have a ') and ' and ' not in english:
            assert french.startswith("Je n'ai pas de ") or french.startswith("Je n'ai pas d'")
            found['pas de'] += 1
    assert min(found.values()) > 0 and len(found) == 3


def test_tokenize_mt():
    assert d2l.tokenize_mt("I see Anna's birds.") == ['i', 'see', 'anna', "'s", 'birds', '.']
    assert d2l.tokenize_mt("J'achète l'arbre d'Anna.") == ["j'", 'achète', "l'", 'arbre', "d'",
                                                           'anna', '.']
    assert d2l.tokenize_mt('') == []


def test_fit_length():
    assert d2l.fit_length([5, 6, 7], 5, 1) == [5, 6, 7, 1, 1]
    assert d2l.fit_length([5, 6, 7], 2, 1) == [5, 6]


# ---------------------------------------------------------------- the data module

def test_mtdata_arrays(data):
    src, tgt_in, src_valid_len, tgt_out = data.arrays
    n = data.num_train + data.num_val
    assert src.shape == tgt_in.shape == tgt_out.shape == (n, 20)
    assert src_valid_len.shape == (n,)
    for a in data.arrays:
        assert a.dtype == onp.int32
    sv, tv = data.src_vocab, data.tgt_vocab
    pad, bos, eos = tv['<pad>'], tv['<bos>'], tv['<eos>']
    assert (sv['<pad>'], sv['<bos>'], sv['<eos>']) == (pad, bos, eos) == (1, 2, 3)
    src, tgt_in, valid, tgt_out = [a.asnumpy() for a in data.arrays]
    assert (tgt_in[:, 0] == bos).all()
    assert (tgt_in[:, 1:] == tgt_out[:, :-1]).all()  # labels are the inputs shifted by one
    for i in range(n):
        v = valid[i]
        assert (src[i, v:] == pad).all() and (src[i, :v] != pad).all()
        if v < 20:
            assert src[i, v - 1] == eos
    # nothing is unknown in the validation part: the grammar's vocabulary is closed
    assert (src != sv.unk).all() and (tgt_out != tv.unk).all()


def test_mtdata_split_and_vocab(data):
    train = set(data.pairs[:data.num_train])
    val = set(data.pairs[data.num_train:])
    assert len(train) == data.num_train and len(val) == data.num_val
    assert not train & val
    assert len(data.src_vocab) < len(data.tgt_vocab) < 130
    assert data.pairs == d2l.EnglishFrench(0).corpus(data.num_train + data.num_val)


def test_mtdata_loaders(data):
    train = data.train_dataloader()
    assert len(train) == math.ceil(data.num_train / data.batch_size)
    batch = next(iter(train))
    assert len(batch) == 4 and batch[0].shape == (64, 20) and batch[2].shape == (64,)
    passes = [onp.concatenate([b[0].asnumpy() for b in train]) for _ in range(2)]
    for rows in passes:  # every pass covers every training pair once ...
        assert sorted(map(tuple, rows)) == sorted(map(tuple, data.arrays[0][:data.num_train].asnumpy()))
    assert (passes[0] != passes[1]).any()  # ... in a new order
    val = data.val_dataloader()
    assert len(val) == math.ceil(data.num_val / data.batch_size)
    assert sum(len(b[-1]) for b in val) == data.num_val
    first = next(iter(val))[0].asnumpy()
    assert (first == data.arrays[0][data.num_train:data.num_train + 64].asnumpy()).all()


def test_build_and_decode(data):
    english, french = data.pairs[7]
    src, tgt_in, valid, tgt_out = data.build([english], [french])
    assert (src.asnumpy() == data.arrays[0][7:8].asnumpy()).all()
    assert (tgt_out.asnumpy() == data.arrays[3][7:8].asnumpy()).all()
    assert data.decode(tgt_out[0]) == ' '.join(d2l.tokenize_mt(french))
    src, tgt_in, valid, tgt_out = data.build(['I see a cat.', 'Paul has two big red dogs.'])
    assert src.shape == (2, 20) and valid.asnumpy().tolist() == [6, 8]
    assert (tgt_in[:, 0].asnumpy() == 2).all() and (tgt_in[:, 1].asnumpy() == 3).all()
    assert (tgt_in[:, 2:].asnumpy() == 1).all()  # no target words: <bos>, <eos>, padding


# ---------------------------------------------------------------- models and BLEU

def test_bleu():
    need('bleu')
    ref = 'anna ne voit pas les chats noirs de paul .'
    assert d2l.bleu(ref, ref, 4) == pytest.approx(1.0)
    wrong = 'anna ne voit pas les chats blancs de paul .'
    expected = (9 / 10 * 7 / 9 * 5 / 8 * 3 / 7) ** 0.25
    assert d2l.bleu(wrong, ref, 4) == pytest.approx(expected)
    short = 'anna ne voit pas'
    assert d2l.bleu(short, ref, 4) == pytest.approx(math.exp(1 - 10 / 4))
    assert d2l.bleu('chat chat chat', 'le chat', 1) == pytest.approx(1 / 3)  # clipped counts
    assert d2l.bleu('x y z', ref, 2) == 0.0
    assert d2l.bleu('', ref, 2) == 0.0
    assert d2l.bleu(ref.split(), ref.split(), 4) == pytest.approx(1.0)


def test_seq2seq_shapes_and_masked_loss(data):
    need('Seq2Seq', 'Seq2SeqEncoder', 'Seq2SeqDecoder')
    encoder = d2l.Seq2SeqEncoder(len(data.src_vocab), 8, 16, 2)
    decoder = d2l.Seq2SeqDecoder(len(data.tgt_vocab), 8, 16, 2)
    model = d2l.Seq2Seq(encoder, decoder, tgt_pad=data.tgt_vocab['<pad>'], lr=0.01)
    src, tgt_in, valid, tgt_out = next(iter(data.train_dataloader()))
    outputs, state = encoder(src)
    assert outputs.shape == (20, 64, 16) and state.shape == (2, 64, 16)
    logits = model(src, tgt_in, valid)
    assert logits.shape == (64, 20, len(data.tgt_vocab))
    per_token = model.loss(logits, tgt_out, averaged=False).reshape(64, 20)
    assert (per_token.asnumpy()[tgt_out.asnumpy() == 1] == 0).all()
    real = (tgt_out != 1).sum()
    assert float(model.loss(logits, tgt_out)) == pytest.approx(float(per_token.sum() / real),
                                                               rel=1e-5)
    preds, weights = model.predict_step((src, tgt_in, valid), d2l.try_gpu(), 7)
    assert preds.shape == (64, 7) and weights == []


def test_seq2seq_learns_a_little(data):
    """A few hundred updates must bring the masked validation loss well below log(vocab)."""
    need('Seq2Seq')
    encoder = d2l.Seq2SeqEncoder(len(data.src_vocab), 16, 32, 1)
    decoder = d2l.Seq2SeqDecoder(len(data.tgt_vocab), 16, 32, 1)
    model = d2l.Seq2Seq(encoder, decoder, tgt_pad=1, lr=0.02)
    history = d2l.Trainer(max_epochs=3, gradient_clip_val=1, board=False).fit(model, data)
    assert history['val_loss'].iloc[-1] < 0.6 * math.log(len(data.tgt_vocab))


def test_beam_search_with_beam_size_one_is_greedy(data):
    need('beam_search', 'Seq2Seq')
    encoder = d2l.Seq2SeqEncoder(len(data.src_vocab), 8, 16, 1)
    decoder = d2l.Seq2SeqDecoder(len(data.tgt_vocab), 8, 16, 1)
    model = d2l.Seq2Seq(encoder, decoder, tgt_pad=1, lr=0.01)
    batch = [a[:20] for a in data.arrays]
    eos = data.tgt_vocab['<eos>']
    preds, _ = model.predict_step(batch, d2l.try_gpu(), 12)
    greedy = [data.decode(row) for row in preds]
    results = d2l.beam_search(model, batch, d2l.try_gpu(), 12, 1, eos)
    assert [' '.join(data.tgt_vocab.to_tokens(ids)) for ids, _ in results] == greedy
    wider = d2l.beam_search(model, batch, d2l.try_gpu(), 12, 3, eos, alpha=0)
    assert len(wider) == 20
    for ids, logp in wider:
        assert eos not in ids and len(ids) <= 12 and logp <= 0


# ---------------------------------------------------------------- the recurrent layers of the chapter

def _copy_check(layer, gluon_layer, X, state_of):
    """Compare a scratch layer with a Gluon layer on X; return the largest difference."""
    Y_gluon, states = gluon_layer(X, gluon_layer.begin_state(batch_size=X.shape[1]))
    Y, state = layer(X)
    return max(float(np.abs(Y - Y_gluon).max()), state_of(state, states))


def _random_biases(gluon_layer):
    for name, param in gluon_layer.collect_params().items():
        if name.endswith('bias'):
            param.set_data(np.random.normal(0, 0.5, size=param.shape))


def test_lstm_and_gru_scratch_match_gluon():
    need('LSTMScratch', 'GRUScratch')
    from mxnet import init
    from mxnet.gluon import rnn
    X = np.random.normal(size=(6, 3, 5))
    g = rnn.LSTM(7, input_size=5)
    g.initialize(init.Normal(0.5))
    _random_biases(g)
    lstm = d2l.LSTMScratch(5, 7)
    lstm.W_x[:] = g.l0_i2h_weight.data().T
    lstm.W_h[:] = g.l0_h2h_weight.data().T
    lstm.b[:] = g.l0_i2h_bias.data() + g.l0_h2h_bias.data()
    diff = _copy_check(lstm, g, X, lambda s, gs: max(float(np.abs(s[0] - gs[0][0]).max()),
                                                     float(np.abs(s[1] - gs[1][0]).max())))
    assert diff < 1e-5
    g = rnn.GRU(7, input_size=5)
    g.initialize(init.Normal(0.5))
    _random_biases(g)
    gru = d2l.GRUScratch(5, 7)
    gru.W_x[:] = g.l0_i2h_weight.data().T
    gru.W_h[:] = g.l0_h2h_weight.data().T
    gru.b_x[:] = g.l0_i2h_bias.data()
    gru.b_h[:] = g.l0_h2h_bias.data()
    assert _copy_check(gru, g, X, lambda s, gs: float(np.abs(s - gs[0][0]).max())) < 1e-5


def test_stacked_and_bidirectional_scratch_match_gluon():
    need('StackedRNNScratch', 'BiRNNScratch')
    from mxnet import init
    from mxnet.gluon import rnn
    X = np.random.normal(size=(6, 3, 5))
    g = rnn.RNN(7, num_layers=3, activation='tanh', input_size=5)
    g.initialize(init.Normal(0.5))
    _random_biases(g)
    stack = d2l.StackedRNNScratch(5, 7, 3)
    for i, layer in enumerate(stack.layers()):
        layer.W_xh[:] = getattr(g, f'l{i}_i2h_weight').data().T
        layer.W_hh[:] = getattr(g, f'l{i}_h2h_weight').data().T
        layer.b_h[:] = getattr(g, f'l{i}_i2h_bias').data() + getattr(g, f'l{i}_h2h_bias').data()
    diff = _copy_check(stack, g, X, lambda s, gs: max(float(np.abs(s[i] - gs[0][i]).max())
                                                      for i in range(3)))
    assert diff < 1e-5
    g = rnn.RNN(7, activation='tanh', bidirectional=True, input_size=5)
    g.initialize(init.Normal(0.5))
    _random_biases(g)
    bi = d2l.BiRNNScratch(5, 7)
    for prefix, layer in [('l0', bi.forward_layer), ('r0', bi.backward_layer)]:
        layer.W_xh[:] = getattr(g, f'{prefix}_i2h_weight').data().T
        layer.W_hh[:] = getattr(g, f'{prefix}_h2h_weight').data().T
        layer.b_h[:] = (getattr(g, f'{prefix}_i2h_bias').data()
                        + getattr(g, f'{prefix}_h2h_bias').data())
    diff = _copy_check(bi, g, X, lambda s, gs: max(float(np.abs(s[0] - gs[0][0]).max()),
                                                   float(np.abs(s[1] - gs[0][1]).max())))
    assert diff < 1e-5


@pytest.mark.parametrize('make_layer', ['lstm', 'gru', 'stacked', 'bi'])
def test_scratch_layers_train_in_the_language_model(make_layer, tmp_path):
    """Scratch layers plug into d2l.RNNLMScratch: parameters found, trained, saved and loaded."""
    need('RNNLMScratch', 'LSTMScratch', 'GRUScratch', 'StackedRNNScratch', 'BiRNNScratch')
    text = d2l.BookText(batch_size=16, num_steps=8, num_train=64, num_val=16)
    V = len(text.vocab)
    layer = {'lstm': lambda: d2l.LSTMScratch(V, 16, sigma=0.1),
             'gru': lambda: d2l.GRUScratch(V, 16, sigma=0.1),
             'stacked': lambda: d2l.StackedRNNScratch(V, 16, 2, d2l.GRUScratch, sigma=0.1),
             'bi': lambda: d2l.BiRNNScratch(V, 8, sigma=0.1)}[make_layer]()
    if make_layer == 'bi':
        layer.num_hiddens = 16  # the language model reads 2 * 8 features per step
    model = d2l.RNNLMScratch(layer, V, lr=1)
    names = set(model.scratch_params())
    assert all(name.startswith('rnn.') for name in names - {'W_hq', 'b_q'})
    before = {k: v.copy() for k, v in model.scratch_params().items()}
    history = d2l.Trainer(max_epochs=1, gradient_clip_val=1, board=False).fit(model, text)
    assert onp.isfinite(history['val_loss']).all()
    changed = [k for k, v in model.scratch_params().items() if (v != before[k]).any()]
    assert set(changed) == names
    path = str(tmp_path / 'model.params')
    model.save(path)
    state = model.state_dict()
    for v in model.scratch_params().values():
        v[:] = 0
    model.load(path)
    for key, value in model.state_dict().items():
        assert (value == state[key]).all()


def test_gluon_wrappers():
    need('LSTM', 'GRU', 'AdamRNNLM')
    X = np.random.normal(size=(5, 4, 3))
    for cls in (d2l.LSTM, d2l.GRU):
        layer = cls(6, num_layers=2)
        outputs, state = layer(X)
        assert outputs.shape == (5, 4, 6)
        assert all(s.shape == (2, 4, 6) for s in state)
    model = d2l.AdamRNNLM(d2l.GRU(8), vocab_size=10, lr=0.01)
    assert model.configure_optimizers()._optimizer.__class__.__name__ == 'Adam'
