"""Reaping the trial of a dead worker on the journal file: two workers that both find it queue it again once."""
import os
import socket

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage
from optuna.trial import TrialState

from gansweep.study import reap


def journal(path):  # each worker process opens the file with its own storage object
    return JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))


def test_two_workers_reaping_one_dead_trial_queue_it_again_once(tmp_path, monkeypatch):
    path = tmp_path / "journal.log"
    first = optuna.create_study(study_name="s", storage=journal(path))
    lost = first.ask({"model.g_activation": CategoricalDistribution(["relu", "elu"])})
    # a reused pid: this process, with another start time, is a dead worker
    lost.set_user_attr("worker", {"host": socket.gethostname(), "pid": os.getpid(), "start": -1})
    second = optuna.load_study(study_name="s", storage=journal(path))
    seen = second.get_trials(states=(TrialState.RUNNING,))  # the second worker looks, then the first reaps
    reap(first)
    monkeypatch.setattr(second, "get_trials", lambda **_: seen)
    reap(second)  # acts on what it saw: the trial is FAIL by now
    trials = optuna.load_study(study_name="s", storage=journal(path)).get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.WAITING]
    assert trials[1].params == lost.params and trials[1].user_attrs == {"retry_of": 0, "retries": 1}
