"""Table-driven tests of the implicit problem and complaint patterns (issue 9) and of ritual
formulas that are no empathy.

Every pattern has three or more sentences it must match and two or more near misses it must
not, Traditional script included. The sentences are written for these tests, across the
registers the rulebook serves (telecom, banking, delivery, e-commerce, utilities), and are
taken from no evaluation set.
"""
from __future__ import annotations

import pytest

from pipeline.rules import assess, load_rulebook
from pipeline.types import Transcript
from tests.dialogue_factory import spoken_call

A, C = "agent", "customer"

# (act, pattern id): (sentences that must carry the act, near misses that must not)
PATTERNS: dict[tuple[str, str], tuple[list[str], list[str]]] = {
    ("problem_report", "quantity_short"): (
        ["我订了三箱水，怎么只收到两箱？", "充了一百块，只到账五十。", "说好退二百，结果才退了80。",
         "買了兩件衣服，就收到一件。"],
        ["我只有一个问题想问下。", "只要一张发票就行。", "我就一个号码。"],
    ),
    ("problem_report", "nobody_came"): (
        ["报修三天了也没人来。", "返厂维修一直没有人上门取件。", "申请了退款没人处理啊。", "到現在都沒人聯繫我。"],
        ["我家白天没人在。", "没人的时候放快递柜就行。"],
    ),
    ("problem_report", "option_missing"): (
        ["APP里没有申请退款的选项。", "我想取消，可是没这个按钮啊。", "页面上没有任何入口。", "手機上沒有確認收貨的選項。"],
        ["有没有自助退款的选项？", "请问在哪个按钮里改地址？"],
    ),
    ("problem_report", "item_not_seen"): (
        ["快递单号查不到物流。", "我在邮箱里没看到发票。", "订单里找不到退款记录。", "驗證碼一直收不到，短信也沒顯示。"],
        ["发票在哪里可以看到？", "我想查一下物流。", "有没有看到发票的地方？"],
    ),
    ("problem_report", "amount_question"): (
        ["为什么退给我的只有三十块？", "为啥要收我20块手续费？", "怎么扣了我一百五？", "為什麼需要交50元的押金？"],
        ["为什么要实名认证？", "怎么办理五十八的套餐？", "为什么要填身份证？"],
    ),
    ("problem_report", "contrary"): (
        ["我已经退了会员，但是并没有退款。", "我没签收，订单却显示已签收。", "已经交了钱可是还没开通。", "說是今天到，但是還沒到。"],
        ["但是没关系，不着急。", "并没有什么问题，就是问问。", "可是不知道怎么操作。"],
    ),
    ("problem_report", "already_late"): (
        ["今天都八号了。", "都三天了，师傅还不来。", "都十点了还没送到。", "都兩個星期了。"],
        ["一共要三天吗？", "我八号在家。"],
    ),
    ("problem_report", "ever_since"): (
        ["从早上就这样，一直上不了网。", "自从换了套餐就一直没信号。", "从昨天到现在打不通。", "從上週開始就這樣了。"],
        ["从明天开始生效吗？", "从哪里可以下载？"],
    ),
    ("problem_report", "time_since_gap"): (
        ["申请了三天货还没出库。", "退款提交两周了钱都没到。", "报修五天了师傅也没来。", "交費兩天了寬帶還是沒恢復。"],
        ["三天内还没收到可以找你们吗？", "两个小时后还没到的话我再打。"],
    ),
    ("problem_report", "malfunction"): (
        ["灶台打不着火了。", "订单记录查不到了。", "网页上那一步过不去。", "手機一直撥不通。"],
        ["周六的课还上不上？", "这个还用不用交钱？"],
    ),
    ("problem_report", "fault_word"): (
        ["收到的镜子是碎的。", "马桶盖板松动了。", "燃气表屏幕不亮了。", "新買的手機有點毛病。"],
        ["这款手机没毛病吧？", "我家的网没坏，就是想换个套餐。"],
    ),
    ("problem_report", "stopped_working"): (
        ["空气炸锅用了两次就不加热了。", "空调突然不制冷了。", "路由器灯不亮了。", "熱水器不出水了。"],
        ["不用了，谢谢。", "我不转账了，先问问。"],
    ),
    ("problem_report", "not_at_all"): (
        ["显示签收了，我根本没拿到。", "我根本就没开通过这个业务。", "這個號碼根本打不通。"],
        ["根本不用担心。", "根本没必要这么麻烦吧？"],
    ),
    ("problem_report", "unasked_change"): (
        ["我套餐怎么给我变了？", "为什么把我的流量包取消了？", "怎么给我开通了彩铃？", "為什麼把我的額度降了？"],
        ["怎么给我退款？", "怎么改套餐？", "为什么要改密码？"],
    ),
    ("problem_report", "slow_service"): (
        ["网速特别慢。", "看个视频一直卡。", "宽带老是掉线。", "系統太慢了，一直轉圈。"],
        ["网速是多少兆的？", "卡里还有多少钱？", "我想办一张卡。"],
    ),
    ("problem_report", "more_than_usual"): (
        ["这个月电费比上个月高了一倍。", "话费比平时多了一百。", "比以前贵了好多。", "水費比往月多出了五十。"],
        ["我这个月比上个月多用了点流量。", "比上个月便宜吗？"],
    ),
    ("problem_report", "wrong_item"): (
        ["我点的是大份，给我送的小份。", "我买的是黑色，发的是白色的。", "订的是两晚，结果只给了一晚。",
         "我選的是順豐，結果寄來的是別的快遞。"],
        ["我买的是会员，在哪里看？", "我要的是发票。"],
    ),
    ("problem_report", "soon_broken"): (
        ["手机刚买三天屏幕就出现一条线。", "热水器才装好就又漏水。", "刚修好第二天就不响了。", "才收到就有裂痕。"],
        ["刚买的手机能退吗？", "才买的东西怎么退？"],
    ),
    ("problem_report", "taken_by_others"): (
        ["包裹被别人签收了。", "我的优惠券被人领走了。", "账户被陌生人盗用了。", "快遞被其他人取走了。"],
        ["别人可以帮我签收吗？", "被保险人是我爸。"],
    ),
    ("problem_report", "waited"): (
        ["我等了快四十分钟了。", "等了整整两天。", "我都等了一个多小时。", "等了三個禮拜。"],
        ["我等一下再打。", "等会儿再说吧。"],
    ),
    ("complaint", "nth_time"): (
        ["我已经第三次打电话了。", "这都第二次了。", "第几次来找你们了。", "這是第二回催了。"],
        ["我第一次打电话。", "第二次办理需要什么材料？"],
    ),
    ("problem_report", "anomaly_question"): (
        ["我这个月话费怎么这么多？", "怎么退了又扣了？", "怎么申请退款不了？", "為什麼又停機了？"],
        ["没了，那么怎么取消，还需要我点什么吗？", "怎么办理才能便宜一点？", "如何开通还要交钱吗？"],
    ),
    ("problem_report", "step_fails"): (
        ["我在APP上申请退款不了。", "支付失败了三次。", "宽带注销不成。", "手機號碼綁定不上。"],
        ["申请退款需要几天？", "注销以后还能恢复吗？"],
    ),
    ("problem_report", "again_broken"): (
        ["喂那个我这个宽带啊又断了。", "手机又没信号了。", "这个月又扣了我十块。", "熱水器又壞了。"],
        ["又要麻烦你了。", "我又想起一件事。"],
    ),
    ("problem_report", "turned_out"): (
        ["约好的下午来，结果没来。", "说是一百兆，结果只有二十兆。", "说好的今天送，还没送到。", "說是包郵，其實收了運費。"],
        ["检测结果什么时候出来？", "结果不知道怎么样。"],
    ),
    ("problem_report", "amount_changed"): (
        ["这个月话费一下子多了五十多块钱。", "余额少了二十块。", "流量突然没了。", "莫名其妙停了我的卡。"],
        ["我想多充一点。", "突然想起来问一下。"],
    ),
    ("problem_report", "unknown_charge"): (
        ["账单上有一笔我不认识的消费。", "卡里有一笔不明扣款。", "多了一个我不知道的业务。", "有一筆陌生的轉賬。"],
        ["我不认识路，怎么去营业厅？", "我不知道的话可以问你吗？"],
    ),
    ("problem_report", "without_notice"): (
        ["快递员没打电话就把东西放门口了。", "你们扣费之前也不通知一下。", "没通知我就停机了。", "之前都沒告訴我。"],
        ["没关系，打电话就行。", "通知我就可以了。"],
    ),
    ("problem_report", "price_up"): (
        ["为啥我的套餐费涨了？", "月租怎么又涨了？", "价格突然高了。", "資費都貴了。"],
        ["价格是多少？", "有没有便宜的套餐？"],
    ),
    ("complaint", "waited_long"): (
        ["每次打电话都要等半天。", "我等了好久了。", "每次来都是这样。", "等了老半天沒人接。"],
        ["我等会儿再打。", "每次充值可以送积分吗？"],
    ),
    ("complaint", "your_fault"): (
        ["明明是你们摔碎的啊。", "这个损失你们得负责吧。", "驿站让我找你们，你们又让我找驿站。", "誰改的啊，我都不知道。"],
        ["是你们家的快递吗？", "你们负责售后吗？", "是你们客服吗？"],
    ),
    ("complaint", "for_nothing"): (
        ["那我这三十块就白扣了？", "我白跑了一趟营业厅。", "等了一下午，白等了。", "白交了一個月的錢。"],
        ["我白天不在家。", "白条能分期吗？"],
    ),
    ("complaint", "same_story"): (
        ["你们上午也是这么说的。", "冰箱吵得睡不着。", "孩子网课都耽误了两节了。", "上次客服也是這麼說的。"],
        ["我也是这么想的。", "不耽误您时间吧？"],
    ),
    ("complaint", "too_bad"): (
        ["你们发货也太慢了。", "修个宽带要这么久？", "这服务真差。", "退個款這麼麻煩。"],
        ["没那么久吧，一般两天。", "不会太麻烦您吧？", "不太方便说。"],
    ),
    ("complaint", "again_and_again"): (
        ["我天天催你们都没用。", "我反复打电话问了。", "连续反馈三天了。", "我好幾次投訴都沒人管。"],
        ["我每天打卡上班。", "反复确认一下地址。"],
    ),
    ("complaint", "unfair_burden"): (
        ["客户自己不要了，运费也要我们来承担吗？", "凭什么让我自己出运费？", "快递摔坏的还得我来赔？", "為什麼要我們來負責？"],
        ["运费谁来承担？", "我们来承担就行，没关系。", "这个我自己负责就好。"],
    ),
    ("problem_report", "off_quality"): (
        ["新买的电视屏幕有一点黄。", "充电的时候机身特别烫。", "耳机声音有些小，还有杂音。", "螢幕顏色偏黃。"],
        ["屏幕有多大？", "我想要黄色的外壳。", "声音小一点就行。"],
    ),
    ("problem_report", "promised"): (
        ["你们送货前不是要打电话吗？", "快递员不是应该送上门吗？", "页面上不是说七天无理由吗？", "你們師傅不是說好今天來嗎？"],
        ["是不是要先申请？", "不是要紧的事，不急。", "你们是不是要先审核？"],
    ),
    ("problem_report", "not_as_described"): (
        ["收到的外套颜色跟图片差太多了。", "实物和详情页写的不符。", "尺寸与描述的不一样。", "顏色跟照片上的差很多。"],
        ["跟图片一样吗？", "和描述的一样，挺好的。", "我想看看详情页的图片。"],
    ),
    ("problem_report", "booking_cancelled"): (
        ["我刚收到短信说明天的航班取消了。", "高铁突然停运了，我怎么回去？", "我约的课程被临时取消了。", "班機延誤了，轉機趕不上。"],
        ["我想取消预约。", "航班可以取消吗？", "酒店订好了。"],
    ),
    ("problem_report", "cannot"): (
        ["订单页不能选专用发票。", "退款之后没法再下单了。", "我的卡无法正常使用。", "這個顏色不能選擇。"],
        ["不能选专用发票吗？", "能不能选别的颜色？"],
    ),
    ("problem_report", "shown_but_not"): (
        ["页面显示已经签收了，可是我根本没拿到。", "短信说退款成功了但是卡里没有钱。", "系統顯示已經到賬了，可是餘額還是沒變。"],
        ["显示已经签收了，谢谢你们。", "短信说退款成功了，我看到了。"],
    ),
    ("problem_report", "paid_still_broken"): (
        ["交了两百电费屋里还是黑的。", "重启了三遍还是连不上。", "換了新卡還是打不通。"],
        ["交了一百块网费，现在能上网了。", "换了新卡以后好多了。"],
    ),
    ("problem_report", "elapsed"): (
        ["申请退款到今天整整两周了。", "报修到现在都三天了。", "寄出去至今快一个月了。"],
        ["到今天为止我都很满意。", "我用你们的宽带到现在挺好的。"],
    ),
    ("complaint", "any_use"): (
        ["你们这个客服到底有没有用？", "打了这么多次，究竟管不管啊？", "你們到底有沒有用？"],
        ["这个功能你用过没有？", "我想问一下这个有什么用。"],
    ),
    ("give_up", "elsewhere"): (
        ["行，我直接找消协去。", "那我干脆去给个差评。", "我只好打市民热线了。", "那我直接去工商局投訴。"],
        ["我去找一下订单号。", "稍等，我找找卡号。"],
    ),
    ("give_up", "walks_away"): (
        ["那我明天就把这张卡销了。", "这个会员也没必要留着了。", "那个钱我也不想要了。", "跟你们说不通。"],
        ["我想把这个套餐取消掉，怎么操作？", "我要把地址改一下。"],
    ),
    ("complaint", "how_long_still"): (
        ["这个要审核到啥时候？", "还要等到什么时候？", "我的订单到底怎么了？", "到底是什麼情況？"],
        ["这张卡能用到什么时候？", "会员有效期到什么时候？"],
    ),
}

# Not a problem at all: plain questions, hypotheticals, the customer's own slips.
NOT_A_PROBLEM = [
    "我地址打错了，能改一下吗？订单里看不到了。",
    "颜色选错了，想换个颜色。",
    "不是质量问题，是我自己摔坏的。",
    "如果保修期内坏掉的话怎么办？",
    "我昨天下错了码数，刚申请了退款。",
    "為什麼要實名？",
    "你好，发票信息填错了，能重新开吗？",
    "地址填错了，你们能帮我改吗？",
]

# The same slips made by the other side are problems (你们把地址写错了).
THEIR_SLIPS = ["你们把我的地址写错了。", "客服给我选错了套餐。", "快遞員把我的電話輸錯了。"]

# Ritual formulas an agent says anyway: no apology or empathy.
NOT_EMPATHY = [
    "这款目前库存很紧张，建议您早点下单。",              # 很紧张 about stock, not the customer
    "辛苦您了，还有其他问题吗？",                        # thanks, no empathy
    "您一定要带上身份证原件。",                          # 一定 + instruction
    "这是挺常见的操作，您点设置就行。",
    "谢谢您的体谅，还有其他可以帮您的吗？",
    "怠慢之处请您谅解。",
    "您放心，我并未离线。",
    "师傅您辛苦了，再见。",
    "您放心，商品都是正品，请放心购买。",
    "辛苦您点击右下角给个评价。",
    "妹子怠慢的地方，您多多包含哦。",
    "感謝您的理解。",
]
EMPATHY = [
    "赶上搬家又断网，是挺糟心的，我马上帮您看。",        # feels_for
    "这种事放谁身上都会着急，我先帮您登记。",            # anyone_would
    "換作誰都會生氣，我幫您查一下。",                    # anyone_would, Traditional
    "真是给您添堵了，我这就处理。",                      # trouble_caused
    "让您白跑了一趟，我帮您改约明天。",
    "辛苦您特意跑一趟营业厅，我来帮您看。",              # effort_noted
    "您人没事吧？车的事我们来处理。",                    # concern
    "您这几天肯定睡不踏实，我先给您催一下。",            # feel_state
    "那您现在一定很着急，我马上帮您查。",
    "非常抱歉，给您添麻烦了。",
    "理解您的心情，我马上帮您催一下。",
    "我明白您的意思，这种情况确实让人着急。",
    "真的很报歉，让您久等了。",
    "請您諒解，我們一定盡快處理。",
]


@pytest.fixture(scope="module")
def tagger():
    return load_rulebook().acts


def _acts(tagger, speaker, text):
    return {a.name: a for a in tagger.tag_text(text, speaker)}


ROWS = [(act, pid, text) for (act, pid), (must, _) in PATTERNS.items() for text in must]
MISSES = [(act, pid, text) for (act, pid), (_, must_not) in PATTERNS.items() for text in must_not]


@pytest.mark.parametrize(("act", "pattern", "text"), ROWS)
def test_pattern_sentences_carry_the_act(tagger, act, pattern, text):
    acts = _acts(tagger, C, text)
    assert act in acts, f"{text!r} should be {act} ({pattern}); got {sorted(acts)}"


@pytest.mark.parametrize(("act", "pattern", "text"), MISSES)
def test_near_misses_do_not(tagger, act, pattern, text):
    acts = _acts(tagger, C, text)
    assert act not in acts, f"{text!r} must not be {act} (near miss of {pattern}); got {acts[act].evidence if act in acts else ''}"


@pytest.mark.parametrize(("act", "pattern"), list(PATTERNS))
def test_each_pattern_is_the_evidence_somewhere(tagger, act, pattern):
    """The pattern itself fires (not only a neighbour): some of its sentences name it as evidence."""
    evidence = [_acts(tagger, C, t)[act].evidence for t in PATTERNS[(act, pattern)][0] if act in _acts(tagger, C, t)]
    assert any(e.startswith(pattern) for e in evidence), evidence


@pytest.mark.parametrize("text", NOT_A_PROBLEM)
def test_questions_hypotheticals_and_own_slips_are_no_problem(tagger, text):
    acts = _acts(tagger, C, text)
    assert "problem_report" not in acts and "complaint" not in acts, {k: a.evidence for k, a in acts.items()}


@pytest.mark.parametrize("text", THEIR_SLIPS)
def test_slips_of_the_other_side_are_problems(tagger, text):
    assert "problem_report" in _acts(tagger, C, text)


def test_agent_speech_is_never_a_problem_report(tagger):
    assert "problem_report" not in _acts(tagger, A, "您的快递单号查不到物流的话，可以联系我们。")
    assert "complaint" not in _acts(tagger, A, "这边处理确实太慢了，非常抱歉。")


@pytest.mark.parametrize("text", NOT_EMPATHY)
def test_ritual_formulas_are_no_empathy(tagger, text):
    assert "apology_empathy" not in _acts(tagger, A, text)


@pytest.mark.parametrize("text", EMPATHY)
def test_real_empathy_still_counts(tagger, text):
    assert "apology_empathy" in _acts(tagger, A, text)


# --- the rule: apology_missing over these acts --------------------------------------------------
def _call(*turns, gap_s: float = 0.5) -> Transcript:
    return spoken_call(*turns, gap_s=gap_s, call_id="t-009", agent_id="A09")


@pytest.fixture(scope="module")
def rulebook():
    return load_rulebook()


def test_implicit_problem_without_apology_is_missing(rulebook):
    qa = assess(_call((A, "您好，请问有什么可以帮您？"), (C, "交费两天了宽带还是没恢复。"),
                      (A, "您的账号是多少？"), (C, "八八六七。"), (A, "好的，已经帮您重启端口了。"),
                      (C, "好的。"), (A, "还有其他可以帮您的吗？")), rulebook)
    assert qa.checks["apology_missing"] == "fail"


def test_ritual_closing_is_no_apology(rulebook):
    qa = assess(_call((A, "您好，请问有什么可以帮您？"), (C, "充了一百块，只到账五十。"),
                      (A, "稍后会到账的。"), (C, "好吧。"), (A, "怠慢之处请您谅解，再见。")), rulebook)
    assert qa.checks["apology_missing"] == "fail"


def test_apology_after_gathering_details_counts(rulebook):
    """Agents often ask for the account first and apologise once they see the fault (within six turns)."""
    qa = assess(_call((A, "您好，请问有什么可以帮您？"), (C, "都三天了，师傅还不来。"),
                      (A, "您的工单号是多少？"), (C, "一二三。"), (A, "地址是哪里？"), (C, "城东小区。"),
                      (A, "电话多少？"), (C, "一三八。"), (A, "我查一下。"), (C, "嗯。"),
                      (A, "真不好意思，让您久等了，师傅今天下午到。")), rulebook)
    assert qa.checks["apology_missing"] == "pass"


def test_plain_question_needs_no_apology(rulebook):
    qa = assess(_call((A, "您好，请问有什么可以帮您？"), (C, "为什么要实名认证？"), (A, "这是国家规定的。"),
                      (C, "好的，知道了。"), (A, "还有其他可以帮您的吗？")), rulebook)
    assert qa.checks["apology_missing"] == "not_applicable"


@pytest.mark.parametrize("text", [
    "我晚点再打过来。", "如果流量用完了会怎么收费？", "会不会出错啊？", "我手机丢了，想补一张卡。",
    "我想把停机保号办一下。", "怎么办理流量包？", "我晚點過來拿。", "副卡怎么收费的？",
])
def test_requests_and_what_ifs_need_no_apology(rulebook, text):
    qa = assess(_call((A, "您好，请问有什么可以帮您？"), (C, text), (A, "好的，我帮您处理。"), (C, "好的，谢谢。")),
                rulebook)
    assert qa.checks["apology_missing"] == "not_applicable", [f.pattern for f in qa.findings]


@pytest.mark.parametrize("text", ["怎么又扣了我钱？", "怎么收费这么贵？", "為什麼又扣費了？"])
def test_charge_anomalies_still_need_an_apology(rulebook, text):
    qa = assess(_call((A, "您好，请问有什么可以帮您？"), (C, text), (A, "好的，我帮您处理。"), (C, "好的，谢谢。")),
                rulebook)
    assert qa.checks["apology_missing"] == "fail"
