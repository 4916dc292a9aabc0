import sys, numpy as np, collections
import fastlstm
from fastlstm.experiments import protocols as P, runner, ROWS
from fastlstm.tasks import make_reber_sets
from fastlstm.tasks.reber import ReberTask
rid, trial, cap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
abl = sys.argv[4] if len(sys.argv) > 4 else None
nets = []
class Rec(fastlstm.LSTM):
    def __init__(self, *a, **k):
        super().__init__(*a, **k); nets.append(self)
P.fastlstm = type("M", (), {"LSTM": Rec})
row = ROWS[rid]
seed = runner.trial_seed(0, rid, trial); set_seed = runner.trial_seed(0, "reber-sets", trial % 3)
res = P.reber_trial(**row.params, seed=seed, set_seed=set_seed, max_sequences=cap, ablation=abl)
print(res["stop_reason"], res["sequences"], res["test"])
net = nets[0]
train_s, test_s = make_reber_sets(np.random.default_rng(set_seed), 256, 256)
task = ReberTask(train_s)
cnt = collections.Counter(); tot = collections.Counter()
for s in train_s + test_s:
    e = task.example(s); o = net.forward(e.x); leg = e.info["legal"]
    ok = np.where(leg, o, np.inf).min(1) > np.where(leg, -np.inf, o).max(1)
    for t in range(e.T):
        # key: position class and the current input symbol + legal set
        pos = "TP-repeat" if t == e.T - 2 else ("first" if t < 2 else ("E" if t == e.T-1 else "inner"))
        key = (pos, s[t], "".join(sorted(e.info["legal_sets"][t])))
        tot[key] += 1; cnt[key] += not ok[t]
for k in sorted(tot, key=lambda k: -cnt[k])[:12]:
    print(k, cnt[k], "/", tot[k])
# example of a wrong step
for s in test_s[:40]:
    e = task.example(s); o = net.forward(e.x); leg = e.info["legal"]
    ok = np.where(leg, o, np.inf).min(1) > np.where(leg, -np.inf, o).max(1)
    if not ok.all():
        t = int(np.argmin(ok)); print(s, "step", t, "input", s[t], "legal", e.info["legal_sets"][t], np.round(o[t], 2)); break
