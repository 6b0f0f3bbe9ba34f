"""Evaluation sets as plain, validated Python/pandas objects.

Every loader reads a registered asset (:mod:`embedlab.assets`), validates its arguments (an unknown
language, split or name raises :class:`ValueError` naming what was given and what is allowed) and
refuses to return an empty set.

* CoNLL-U (:mod:`.conllu`): :func:`read_conllu`, :func:`merge_inflectional_groups` (the
  ``turkish-treebanks`` package splits words into inflectional groups), :func:`ud_treebank`,
  :func:`turkish_treebank_sentences`;
* analogies (:mod:`.analogies`): :class:`AnalogySet`, :func:`read_questions_words`,
  :func:`english_analogies`, :func:`mine_analogies` / :func:`treebank_analogies` (morphological
  questions mined from treebanks), :func:`paper_analogies` (the papers' sets are not
  redistributable: supply a file);
* similarity (:mod:`.similarity`): :class:`SimilaritySet`, :func:`wordsim353`, :func:`simlex999`,
  :func:`read_similarity`, :func:`marathi_gloss_synonyms`;
* tagging (:mod:`.tagging`): :class:`TaggingSet`, :func:`pos_tagging`, :func:`ner_tagging`,
  :func:`held_out_sentences` / :func:`pos_test_texts` / :func:`held_out_mask` (keep test sentences out of a corpus);
* Bible verses (:mod:`.bible`): :func:`bible_verses`, :func:`book_code`, :data:`BIBLE_EVAL_BOOKS`;
* classification (:mod:`.classification`): :class:`TextClassificationSet`, :func:`ataturk_kind`,
  :func:`bible_testament`, :func:`bible_genre`, :func:`mahasent`, :func:`mahanews`;
* STS / paraphrase (:mod:`.sts`): :class:`STSSet`, :func:`stsb`, :func:`sick`, :func:`stsb_tr`,
  :func:`mahasts`, :func:`stsb_mr`, :func:`bible_paraphrases`, :func:`bible_paraphrase_split`;
* parallel verses (:mod:`.parallel`): :func:`quran_verses` (6,236 verses aligned across 11 languages),
  :func:`quran_verse_pairs` (translation-retrieval pairs, e.g. Turkish -> English), :data:`QURAN_LANGUAGES`;
* dictionaries (:mod:`.dictionaries`): :class:`Dictionary`, :func:`wordnet_definitions`,
  :func:`definition_pairs`;
* the Turkish paper's sets: :func:`turkish_paper_analogies` (groups verb / noun / derivational / mixed /
  semantic), :func:`turkish_paper_similarity` (WordSimTr, AnlamVer): URL assets, internet once;
* :func:`bible_morph_analogies` (:mod:`.bible_morph`): Hungarian case/plural analogies mined offline from
  the Hungarian Bible;
* the registry (:mod:`.dispatch`): :data:`REGISTRY` ``(kind, name)`` -> :class:`EvalSetSpec`,
  :func:`load_evalset`, :func:`try_load` (a set or an ``Unavailable`` record), :func:`evalsets_for`,
  :func:`availability`, :func:`describe_registry`.

Every name is re-exported here: ``from embedlab.evalsets import X`` and ``evalsets.X`` work as they
did when this was one module. Submodules import one way only: ``_common`` <- ``conllu`` <-
``analogies`` <- ``similarity``; ``conllu`` <- ``tagging``; ``bible`` <- ``classification``, ``sts``;
``_common`` <- ``parallel``; all <- ``dispatch``. Only :mod:`embedlab.assets` is imported from the rest of
embedlab at module level; :mod:`embedlab.corpora` is used, lazily, for language-aware lowercasing and the Bible texts.
"""
from __future__ import annotations

from ._common import EvalSetUnavailable
from .conllu import (TR_TREEBANK_TAGSET, UD_SPLITS, UD_TREEBANKS, UD_UPOS, Sentence, Token,
                     merge_inflectional_groups, parse_conllu, read_conllu, turkish_treebank_sentences,
                     ud_treebank)
from .analogies import (PAPER_ANALOGY_LANGUAGES, TURKISH_PAPER_GROUPS, TURKISH_PAPER_REPORTED, AnalogySet,
                        english_analogies, paper_analogies, read_analogy_file, read_questions_words,
                        read_relation_folder, turkish_paper_analogies)
from .treebank_miner import (DEFAULT_NORMALIZE, DEFAULT_RELATIONS, TREEBANK_ANALOGY_LANGUAGES, Relation,
                             mine_analogies, treebank_analogies, treebank_sentences)
from .similarity import (TURKISH_PAPER_SIMILARITY, SimilaritySet, english_testsets, marathi_gloss_synonyms,
                         read_similarity, simlex999, turkish_paper_similarity, wordsim353)
from .tagging import (NER_LANGUAGES, NER_SCHEMES, POS_LANGUAGES, Tagged, TaggingSet, held_out_mask,
                      held_out_sentences, mahaner, ner_tagging, pos_tagging, pos_test_texts)
from .bible import BIBLE_EVAL_BOOKS, HUNGARIAN_BIBLE_VERSIONS, bible_verses, book_code
from .classification import (CLASSIFICATION_ASSETS, MAHASENT_VARIANTS, TextClassificationSet, ataturk_kind,
                             bible_genre, bible_testament, classification_set, mahanews, mahasent)
from .sts import (MAHASTS_SPLITS, SICK_SPLITS, STS_SETS, STSB_SPLITS, STSSet, bible_paraphrase_split,
                  bible_paraphrases, mahasts, sick, sts_pairs, stsb, stsb_mr, stsb_tr)
from .dictionaries import (DEFINITION_ASSETS, DEFINITION_FILES, TRAIN_FILE_ASSETS, WORDNET_FILES, WORDNET_POS, Dictionary,
                           definition_pairs, wordnet_definitions)
from .bible_morph import bible_morph_analogies, mine_bible_morph
from .parallel import QURAN_LANGUAGES, quran_verse_pairs, quran_verses
from .dispatch import (EVALSETS, REGISTRY, EvalSetSpec, availability, describe_registry, evalsets_for, get_spec,
                       load_evalset, register, try_load)

# The single-file module's own imports were reachable as attributes (``evalsets.assets``,
# ``evalsets.pd`` ...); kept so that code written against it still finds them.
import csv, dataclasses, functools, hashlib, os, sqlite3, tempfile, unicodedata  # noqa: E401,E402
from collections import Counter, defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable, Iterable, NamedTuple, Sequence  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from embedlab import assets  # noqa: E402
