"""Table-driven tests of the refusal_inability and alternative_offer patterns and of the
harsh_negation rule built on them (issue 9).

Every pattern has three or more sentences it must match and two or more near misses it must
not, Traditional script included. The sentences are written for these tests, across the
registers the rulebook serves (telecom, banking, insurance, delivery, e-commerce chat), and are
taken from no evaluation set.
"""
from __future__ import annotations

import pytest

from pipeline.rules import assess
from tests.dialogue_factory import A, C, agent_reply_call, spoken_call


# (act, pattern id): (agent sentences that must carry the act with that evidence, near misses that must not carry the act)
PATTERNS: dict[tuple[str, str], tuple[list[str], list[str]]] = {
    ("refusal_inability", "negated_service"): (
        ["这个没得退。", "积分不能兑换话费。", "您这个卡我们没法给您解冻。", "這筆錢不能轉賬到別人的卡上。"],
        ["这个没得说，质量肯定好。", "您放心，不会给您多扣。", "可以给您兑换话费。"],
    ),
    ("refusal_inability", "verb_cannot"): (
        ["这个钱退不回来了。", "宽带移机我们这边做不了。", "额度我们这边批不下来。", "這個套餐改不了。"],
        ["改好了会短信通知您。", "这个可以退回来。"],
    ),
    ("refusal_inability", "bare_none"): (
        ["没有的哦，建议您去官网搜一下。", "这边没有的呢，您可以问问门店。", "目前没有的，下个月才上。", "沒有的哦，您可以換個顏色。"],
        ["没有问题的，您放心。", "没有关系的。", "有没有的都行。"],
    ),
    ("refusal_inability", "no_authority"): (
        ["我这边没有权限给您操作。", "我们没这个权限。", "客服没有相关权限修改保单。", "我這邊沒有權限查詢。"],
        ["您的账户权限已经开通了。", "这个需要有权限的同事来处理，我帮您转过去。"],
    ),
    ("refusal_inability", "useless"): (
        ["备注是没有用的。", "您催也没用的。", "重启也没有用。", "這個是沒有必要的。"],
        ["您之前没有用过这个功能吗？", "这张券您还没有用的话可以退。"],
    ),
    ("refusal_inability", "flat_hedge"): (
        ["这个说不好。", "我们也不清楚的。", "这边不知道呢。", "這個不好說。"],
        ["这个我们也不清楚，我帮您问一下技术同事。", "不知道您方便提供一下订单号吗？"],
    ),
    ("refusal_inability", "no_such_service"): (
        ["我们没有上门查表这个服务的。", "没有这个功能的。", "目前没有这项业务。", "我們沒有這個政策。"],
        ["这个套餐没有服务费。", "您说的是服务热线吗？", "您没有开通这个业务。"],
    ),
    ("refusal_inability", "out_of_stock"): (
        ["这款手机现在缺货。", "这个颜色已经售罄了。", "仓库没货了。", "這款已經停產了。"],
        ["这款有货的，今天就能发。", "到货后马上给您发。"],
    ),
    ("alternative_offer", "only_way"): (
        ["不可以的，仅支持快递寄回。", "只能修改运费，金额改不了。", "这个只可以线上办理。", "僅支持電子發票。"],
        ["只能这样了。", "只能终止一个服务单。", "只能退两包的钱。"],
    ),
    ("alternative_offer", "proposal"): (
        ["订单完成后这边帮您修改可以吗？", "给您换一台新的您看行吗？", "我帮您转人工好吗？", "我幫您改成月付可以嗎？"],
        ["请问还有什么可以帮您的吗？", "您的地址是对的吗？"],
    ),
    ("alternative_offer", "contrast_can"): (
        ["积分不能兑换现金，可以兑换话费。", "这张卡不能在境外用，但是可以开通境外功能。", "您自己撤销不了，我们可以帮您撤销。",
         "這個不能退，可以換貨。"],
        ["这个不能退，可以吗？", "没法登录的话可不可以告诉我？"],
    ),
    ("refusal_inability", "flat_no"): (
        ["不能。", "这个不可以的。", "肯定不行。", "這個不支持的。"],
        ["不能不说，这个套餐确实划算。", "不可以的话您告诉我。"],
    ),
    ("alternative_offer", "try_this"): (
        ["您先试试重启一下路由器。", "你再尝试一下清除缓存。", "您可以试一下换个浏览器。", "您先試試重新登錄。"],
        ["我们已经试过了，还是不行。", "这个我试一下看能不能查到。"],
    ),
}

# agent sentences that are no refusal at all (the act must not be there)
NO_REFUSAL = [
    "好的，那就不用约师傅了。还有别的事吗？没有的话再见。",   # closing, nothing refused
    "这边现在登录不了是吗？",             # restating the customer's trouble as a question
    "您那边是不是上不了网？",
    "可以的，这个没有影响的。",           # reassurance
    "不会有什么问题的，您放心。",
    "快递员无法联系您，麻烦您提供一下正确的电话。",   # a report of a failed contact
    "系统显示无法送达，原因是地址不详。",    # a quoted status
    "仓库那边还没有发货。",                # not yet
    "今晚预计是无法送到了，明天上午到。",    # a forecast
    "您那边信号不好，我这边听不清。",        # trouble hearing
    "我这边看不到您的卡号，麻烦您报一下。",   # a look-up, then a request for the detail
    "如果超过七天的话就不能退了。",          # a conditional policy
    "請問您現在是登錄不了嗎？",              # Traditional
    "请问您是说有人打电话说没有货，让您退款吗？",   # a question quoting what someone said
    "快递员跟您说不能送上楼是吗？",
]

# agent utterances between a customer request and a farewell: harsh or not
HARSH = [
    "不可以的哦。", "无法修改的哦。", "不支持哦亲。", "您自己撤销不了的呢。", "我这边是没办法修改价格的哦。",
    "这个业务我们这边处理不了。", "这个没得退。", "退不了就是退不了。", "您当时怎么不问清楚？", "这个你得自己去营业厅。",
    "这个不归我们部门。", "您听我说完行不行？", "这个我也没辙。", "这个真没办法给您弄。", "你不用跟我说这些。",
    "备注是没有用的哦。", "这个说不好。", "那不行，只能终止一个服务单。", "不能。", "您这个要求是不行的。",
    "這個業務我們辦理不了。", "這個我也沒轍。",                            # Traditional
]
NOT_HARSH = [
    "不可以的，仅支持快递寄回来。",                      # the one way that works follows
    "这个是您资质上的地址，不可以更换的哦。",             # what it is: the reason
    "订单未出库不能取消。",                              # a state not reached
    "这个订单已经退款了，无法恢复的。",                   # a state already reached
    "您取消订单就申请不了价保了，只能按现价购买。",          # a consequence
    "会员退费后一年内无法再次开通。",                      # a time condition
    "定制类商品不支持退货。",                             # a product class
    "这款手机缺货呢，您耐心等待哦。",                      # out of stock is its own reason
    "这个我们也不清楚的，亮度太高会看不清的。",              # a hedge that goes on to explain
    "可以的，这个没有影响的。", "这边现在登录不了是吗？", "快递员无法联系您，麻烦您提供一下电话。",
    "不好意思，这个暂时办理不了，您可以到营业厅办理。",
    "很抱歉，这个业务不能线上办理，建议您带身份证去营业厅。",
    "我這邊看不到您的卡號，麻煩您報一下。",                 # Traditional
    "您这个套餐是合约期内的，合约期内不能变更。",            # a time condition
    "额度调整需要系统评估，我这边没法直接调。",              # what it needs
    "您这个号码是副卡，副卡没法单独办理。",                 # what it is
    "我这边还查不到，物流信息还没更新。",                   # not yet
    "积分不能兑换现金，可以兑换话费。",                    # what can be done instead
    "现在没法给您办，系统在升级，您两个小时后再打过来就行。",   # a process in progress
]


def _acts(book, text, speaker=A):
    return {a.name: a for a in book.acts.tag_text(text, speaker)}


ROWS = [(act, pid, text) for (act, pid), (must, _) in PATTERNS.items() for text in must]
MISSES = [(act, pid, text) for (act, pid), (_, must_not) in PATTERNS.items() for text in must_not]


@pytest.mark.parametrize(("act", "pattern", "text"), ROWS)
def test_pattern_sentences_carry_the_act(book, act, pattern, text):
    acts = _acts(book, text)
    assert act in acts, f"{text!r} should be {act} ({pattern}); got {sorted(acts)}"


@pytest.mark.parametrize(("act", "pattern", "text"), MISSES)
def test_near_misses_do_not(book, act, pattern, text):
    acts = _acts(book, text)
    assert act not in acts or not acts[act].evidence.startswith(pattern), \
        f"{text!r} must not be {act} by {pattern}; got {acts[act].evidence}"


@pytest.mark.parametrize(("act", "pattern"), list(PATTERNS))
def test_each_pattern_is_the_evidence_somewhere(book, act, pattern):
    evidence = [_acts(book, t)[act].evidence for t in PATTERNS[(act, pattern)][0] if act in _acts(book, t)]
    assert any(e.startswith(pattern) for e in evidence), evidence


@pytest.mark.parametrize("text", NO_REFUSAL)
def test_questions_reassurance_status_and_conditionals_are_no_refusal(book, text):
    acts = _acts(book, text)
    assert "refusal_inability" not in acts, acts["refusal_inability"].evidence


@pytest.mark.parametrize("text", ["这个我们也不清楚，亮度太高会看不清。", "不知道是哪个环节出的问题，我帮您查。"])
def test_a_hedge_that_goes_on_is_a_weak_inability(book, text):
    refusal = _acts(book, text).get("refusal_inability")
    assert refusal is None or refusal.score < 0.75


@pytest.mark.parametrize("text", ["请问还有其他还可以帮到您的吗？", "请问还有可以为您服务的吗？", "有什么问题我可以帮您处理或解决呢？",
                                  "就这样吧，没别的办法。", "請問還有什麼可以幫您的嗎？"])
def test_closing_formula_and_no_other_way_are_no_alternative(book, text):
    assert "alternative_offer" not in _acts(book, text)


@pytest.mark.parametrize("text", ["麻烦您报一下订单号或者手机号。", "钱已经到账了，但是远程开机没成功。", "网点的事你去找网点。",
                                  "請提供一下身份證號或者卡號。"])
def test_requests_failures_and_redirects_are_no_alternative(book, text):
    assert "alternative_offer" not in _acts(book, text)


_call = agent_reply_call


@pytest.mark.parametrize("text", HARSH)
def test_bare_refusal_is_harsh(book, text):
    qa = assess(_call(text), book)
    assert [f.utterance_index for f in qa.findings if f.rule_id == "harsh_negation"] == [2]


@pytest.mark.parametrize("text", NOT_HARSH)
def test_explained_or_answered_refusal_is_not_harsh(book, text):
    qa = assess(_call(text), book)
    assert not [f for f in qa.findings if f.rule_id == "harsh_negation"], \
        [f.pattern for f in qa.findings if f.rule_id == "harsh_negation"]


@pytest.mark.parametrize("text", ["可以的，这个没有影响的。", "这边现在登录不了是吗？", "不会有什么问题的，您放心。"])
def test_reassurance_and_questions_leave_no_open_refusal(book, text):
    call = spoken_call((A, "您好，客服中心，请问有什么可以帮您？"), (C, "这个会不会有影响？"), (A, text),
                       (C, "好的。"), (A, "感谢您的来电，再见。"), gap_s=0.5, call_id="t-open", agent_id="A01")
    assert assess(call, book).resolution == "resolved"


def test_bare_refusal_with_resigned_customer_is_unresolved(book):
    assert assess(_call("这个没得退。"), book).resolution == "unresolved"
