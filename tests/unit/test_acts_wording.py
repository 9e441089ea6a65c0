"""Table-driven tests of the rulebook 1.4.0 patterns for wording nobody listed (issue 9): problems
told by their symptoms, complaints made by sarcasm or rhetorical questions, empathy that names
the customer's feeling, implicit give-ups, put-downs and brush-offs without the stock phrases,
thanks for a wait anywhere in the returning turn, and a brush-off left open as the call outcome.

Every pattern has three or more sentences it must match and two or more near misses it must not,
Traditional script included. The sentences are written for these tests and taken from no
evaluation or check set.
"""
from __future__ import annotations

import pytest

from pipeline.normalize import compact_text
from pipeline.rules import assess
from tests.dialogue_factory import A, C, agent_reply_call, spoken_call

# (speaker, act, pattern id): (sentences that must carry the act, near misses that must not)
PATTERNS: dict[tuple[str, str, str], tuple[list[str], list[str]]] = {
    (C, "problem_report", "usual_vs_now"): (
        ["这个月话费三百二，平时也就八十块。", "电费账单六百多，以前冬天最多两百。", "這期水費九百，往常才三百左右。"],
        ["平时一般几天能到？", "我以前用过你们家的宽带。"],
    ),
    (C, "problem_report", "expected_got"): (
        ["我买的是黑色的，收到一看是白色。", "订的是大床房，结果到了成了双床。", "我要的是蓝色款，打開是粉色的。"],
        ["我买的是黑色的，想问下保修多久。", "我订的是明天的票。"],
    ),
    (C, "problem_report", "third_party_refused"): (
        ["师傅说楼太高不肯送上来。", "司机到了门口不让我上车。", "店員找了半天說沒有我的包裹。"],
        ["师傅人很好，帮我搬上去了。", "我想找一下师傅的电话。"],
    ),
    (C, "problem_report", "degraded"): (
        ["换了路由器以后网速变得特别慢。", "洗着洗着就变凉了。", "最近信號變得很弱。"],
        ["能不能把字体调大一点？", "我想变更一下套餐。"],
    ),
    (C, "problem_report", "smell_noise"): (
        ["厨房里有一股煤气味。", "空调外机一直嗡嗡的。", "冰箱晚上咔哒咔哒地响。", "一開門就有股燒焦味。"],
        ["这个空调安静吗？", "我想问一下冰箱的容量。"],
    ),
    (C, "problem_report", "error_code"): (
        ["洗衣机又报E3了。", "热水器屏幕显示F2。", "空調一開就跳個H6。"],
        ["我想报名一下课程。", "显示的是我的名字。"],
    ),
    (C, "problem_report", "spoiled"): (
        ["一箱龙虾死了一大半。", "水果烂了好几个。", "杯子碎了兩個。"],
        ["我买了一大半了。", "这个死了还能退吗？"],
    ),
    (C, "problem_report", "fails_every_time"): (
        ["试了不下十次都说密码错误。", "回回都提示网络异常。", "刷了好几次還是失敗。"],
        ["我试了一次就好了。", "每次都很顺利，谢谢你们。"],
    ),
    (C, "problem_report", "money_not_back"): (
        ["货都退回去了，钱也没退。", "押金到现在没返。", "差價一直沒有退。"],
        ["钱已经退回来了。", "退款一般多久到？"],
    ),
    (C, "problem_report", "locked_out"): (
        ["昨天开始账户被锁了。", "卡被冻结了，取不了钱。", "網銀鎖住了，登不進去。"],
        ["门锁的电池在哪换？", "我想给孩子买把锁。"],
    ),
    (C, "problem_report", "broke_after"): (
        ["修了三天就坏了。", "换了一个月又不制冷了。", "買了兩週就壞了。"],
        ["买了三天了，挺好用的。", "修了三天终于好了。"],
    ),
    (C, "problem_report", "detour"): (
        ["司机绕了一大圈，多收了我三十。", "他绕了远路，平时二十块的路程。", "明明很近，他繞了半個城。",
         "结果他绕去接了两个人。", "司机绕去送别人，我迟到了。", "他先繞去接人。"],
        ["从这里到机场要多久？", "我想问一下路线怎么走。", "能绕开堵车吗？", "我想去接孩子。"],
    ),
    (C, "complaint", "sarcasm_marker"): (
        ["合着我多交的钱白交了？", "我是不是被当成冤大头了？", "敢情我还得谢谢你们？", "被當外地人宰了。"],
        ["合同我看过了。", "这两个订单合在一起发吧。"],
    ),
    (C, "complaint", "who_pays"): (
        ["我家地板泡坏了，这个谁赔？", "这个业务谁给我开的？", "這筆損失誰來賠？"],
        ["运费谁来承担？", "谁负责我们这个小区？"],
    ),
    (C, "complaint", "blame_back"): (
        ["你们没办好，这也赖我？", "那就怪我咯？", "這都怪我們嗎？"],
        ["不怪你，我自己输错了。", "这个赖不到别人。"],
    ),
    (C, "complaint", "how_am_i"): (
        ["你叫我一个老太太怎么搬？", "你们让我怎么跟孩子交代？", "刻錯了名字這還怎麼送？"],
        ["我该怎么操作？", "你教我怎么设置一下。"],
    ),
    (C, "complaint", "still_charged"): (
        ["东西都退了，你们还扣三百？", "那还收我钱？", "那還扣五十塊？"],
        ["还要交多少钱？", "你们还收旧手机吗？"],
    ),
    (C, "complaint", "fair_question"): (
        ["花了两千修成这样，冤不冤？", "这样收费合不合理？", "你們這樣講不講道理？"],
        ["这个价格挺公道的。", "我觉得挺合理的。"],
    ),
    (C, "complaint", "sarcastic_summary"): (
        ["你们这是逼着大家别提前还吧？", "这运费是按黄金算的吧？", "你们就这么服务的？", "你們這是把客戶當傻子吧？"],
        ["这是我的订单号吧？", "你们这是什么套餐？"],
    ),
    (C, "complaint", "what_do_you_mean"): (
        ["你这话什么意思？", "你们说的是什么意思？", "你這話是什麼意思？"],
        ["这个图标什么意思？", "短信里的代码是什么意思？"],
    ),
    (C, "complaint", "not_even"): (
        ["连个理由都没有就拒了。", "一条短信都没收到。", "連一句解釋都不給。"],
        ["一条就够了。", "一个就够了。"],
    ),
    (C, "complaint", "in_your_hands"): (
        ["寄出去好好的，到你们手里就坏了？", "到你们那边就丢了？", "到你們手上才壞的。"],
        ["到你们那边要多久？", "寄到你们手里需要几天？"],
    ),
    (C, "complaint", "not_told"): (
        ["装的时候师傅怎么不说？", "为什么不早点通知我？", "当初卖的人说什么病都能报。", "為什麼沒提醒我？"],
        ["你说吧，我听着。", "当初是在哪里办的？"],
    ),
    (C, "complaint", "then_why"): (
        ["早知道这样，我还换什么配件？", "修不好我还交什么钱？", "我還等什麼？"],
        ["我还需要准备什么材料？", "我还要什么手续吗？"],
    ),
    (C, "complaint", "time_lost"): (
        ["为这个我弄了一晚上。", "折腾了一整天都没装上。", "我等了一上午了。", "我試了一晚上。"],
        ["我晚上在家。", "一整天都可以送货。"],
    ),
    (C, "give_up", "someone_else"): (
        ["行，空调我找外面的师傅修。", "那我去消协说理。", "我去找教育局。", "那我自己找人修去。", "我换个驾校从头考，都比在你们这儿耗着强。", "算了，我上平台评理去。", "我跟律師談。", "那我去工信部投诉你们。"],
        ["我去找一下单号。", "我在外面，等会儿说。"],
    ),
    (C, "give_up", "never_again"): (
        ["以后你们家的东西我都不买了。", "以后下雨我宁可走路。", "下次这钱我省下来。", "以後再也不坐你們的車。",
         "以后你们家的件我一律拒收。", "以后我让我妈别在网上买了。", "以后不买你们家了。", "下次不坐你们的车了。"],
        ["以后就不用担心了。", "下次我早点打电话。"],
    ),
    (C, "give_up", "drops_request"): (
        ["那我不提前还了。", "这钱我先不交。", "那我不退了。", "那我不換了。"],
        ["我不着急，慢慢来。", "我先不挂，等你查。"],
    ),
    (C, "give_up", "bitter_understood"): (
        ["得，我算是知道了。", "唉，我算看明白了。", "我算是見識了。", "行，我算知道你们这包过是怎么回事了。", "我算整明白了。"],
        ["知道了，谢谢。", "我明白了，那就好。"],
    ),
    (C, "give_up", "put_off"): (
        ["等我弄清楚了再说。", "先放着，等下个月再说。", "等我問過家裡再說。"],
        ["你先说吧。", "等一下，我拿个笔。"],
    ),
    (C, "give_up", "without_you"): (
        ["行，我明天自己去网点柜台问。", "那我自己买水吧。", "等我儿子晚上回来让他弄吧。", "你忙你的吧，我自己去營業廳問。"],
        ["我自己在App上看到了，谢谢。", "你先查，我等着。"],
    ),
    (C, "give_up", "written_off"): (
        ["唉，八千块，估计是拿不回来了。", "二十块我就当喂狗了。", "這錢就當交學費。", "評有咩用，當買個教訓。", "算了，就当我没买过。"],
        ["钱已经拿回来了。", "我当时没注意看。"],
    ),
    (C, "give_up", "settle"): (
        ["算啦，不退了。", "那就算咯。", "算喇，我自己搞掂。", "拉倒吧，我不弄了。", "算數啦。"],
        ["我算啦一下，是两百块。", "您帮我算一下多少钱。"],
    ),
    (C, "give_up", "phrase"): (
        ["行吧，反正也指望不上。", "八十块我认了。", "这回我认栽。"],
        ["我指望你们今天能送到。", "我认得这个快递员。"],
    ),
    (C, "satisfaction", "understood"): (
        ["好的，明白了。", "哦，清楚了，谢谢。", "知道啦。"],
        ["行，我想清楚了，我去找教育局。", "我算整明白了，跟你们说不通。"],
    ),
    (C, "give_up", "leaves_if_not"): (
        ["行吧，那我等等看，不行我就换机构了。", "再不行我就换一家。", "實在不行我就找別家了。"],
        ["不行的话我再打过来问问。", "不行，我还要再问一个问题。"],
    ),
    (C, "give_up", "goes_to_counter"): (
        ["那我星期天让我儿子陪我去营业厅问问吧。", "行，我明天到网点办吧。", "那我自己去櫃檯問問。"],
        ["营业厅几点关门？", "我昨天去营业厅问过了，他们让我打这个电话。"],
    ),
    (C, "give_up", "resigned_wait"): (
        ["那好吧，那我就再等等吧。", "行吧那我等等看。", "那只能再等着了。"],
        ["等等，我找一下单号。", "我等你们电话，明天下午对吧？"],
    ),
    (A, "apology_empathy", "anyone_would"): (
        ["这搁谁都得憋一肚子火。", "换哪个当妈的听了都不舒服。", "換咗係我都覺得好唔抵。"],
        ["换个方式您再试试。", "谁都可以来办理。"],
    ),
    (A, "apology_empathy", "worse_than"): (
        ["熬到最后一下全没了，这比没做还难受。", "拿到账单心都凉了半截吧。", "這比沒買還難受。", "跟买了新鞋不能穿一样憋屈。"],
        ["这个套餐比上个月便宜。", "饭凉了就不好吃了。"],
    ),
    (A, "apology_empathy", "acknowledge_fault"): (
        ["没提前通知，这个确实是我们没做到位。", "是我说得不合适。", "八千多不是小数目。"],
        ["这个确实是系统的规定。", "保留小数点后两位。"],
    ),
    (C, "problem_report", "fault_word"): (
        ["部機食咗我張卡。", "ATM吞卡了。", "錢都未出部機就死咗機。"],
        ["我想食个饭再来。", "卡在我手上。"],
    ),
    (C, "complaint", "too_bad"): (
        ["退个课扣这么多？", "这也要收那么多？", "等了也太久了吧。"],
        ["要扣多少？", "收多少钱？"],
    ),
    (A, "apology_empathy", "feeling_named"): (
        ["扣款那一下心里肯定咯噔一声。", "第一反应肯定是懵的。", "买家催着，您这心里也坐不住。", "狗狗受罪，您肯定也跟着熬。",
         "当着客户的面刷不过，确实挺下不来台的。", "孩子等半天，您一定很心疼。", "心裡一定很不踏實。",
         "两头都得操心。", "这种时候确实挺耗人的。"],
        ["您一定要带上身份证。", "肯定不会多收您的。"],
    ),
    (A, "apology_empathy", "feeling_exclaimed"): (
        ["满心期待开箱是这样，太扫兴了。", "真是好闹心。", "真的很傷腦筋。", "半夜停水，可真遭罪。", "新鞋穿一天就开胶，多扫兴啊。",
         "連等三天，真是難熬。", "電話一直打不通，真的很讓人著急。"],
        ["这个太简单了。", "真是好消息。", "您不用多担心，明天就到。", "别多想，我们马上处理。"],
    ),
    (A, "apology_empathy", "who_could_bear"): (
        ["电话一响就心慌，这谁受得了。", "一天二三十个推销电话，谁能扛得住。", "這誰受得了。"],
        ["这个箱子受得了压吗？", "谁能帮您取件，您报一下名字。"],
    ),
    (C, "problem_report", "broke_after_use"): (
        ["羊毛衫洗了一次缩得跟娃娃衣服似的。", "鞋穿了没几次就开胶了。", "燈用了兩天就不亮了。"],
        ["洗了一次，挺好的。", "穿了几次了，想再买一双。"],
    ),
    (A, "apology_empathy", "caused_feeling"): (
        ["让您抱着孩子一路提心吊胆的。", "害您白白着急了一上午。", "考试前出这种岔子，家长最着急了。", "讓您一路提心吊膽的。"],
        ["让您填一下表格。", "孩子最喜欢这款。"],
    ),
    (A, "apology_empathy", "feeling_simile"): (
        ["收不了款，心里肯定跟猫抓似的。", "心里像压了块石头一样吧。", "心頭肯定像火燒一樣。"],
        ["跟上次一样，您报一下单号。", "这款和那款一样的价格。"],
    ),
    (A, "apology_empathy", "feeling_understood"): (
        ["干着急的滋味我明白。", "那种憋屈的感觉我懂，您报一下单号。", "等消息那種著急的心情我們都理解。"],
        ["您的感觉没错，是线路的问题。", "这种滋味的菜我们店里没有。"],
    ),
    (A, "apology_empathy", "hard_going"): (
        ["您里外跑着还得操心这个，真是不容易。", "一个人带两个孩子跑医院，实在不容易。", "老人家自己排队，確實不容易。",
         "一邊推住輪椅一邊趕覆診，真係好唔容易。"],
        ["这个零件确实不容易找到。", "这种划痕不容易看出来。"],
    ),
    (C, "problem_report", "found_on_arrival"): (
        ["收到一看里头有霉斑。", "打开才发现少了一个配件。", "拆開發現螢幕有裂痕。"],
        ["收到了，谢谢你们。", "打开App就能看到订单吗？"],
    ),
    (C, "problem_report", "smell_everywhere"): (
        ["一上车整台车都是烟味。", "新买的柜子满是一股刺鼻的味道。", "房間裡全是霉味。"],
        ["这款香水是什么味道的？", "我想订一个草莓味的蛋糕。"],
    ),
    (C, "problem_report", "days_not_yet"): (
        ["寄咗五日都未到。", "三个礼拜了还没退。", "等了十天都不見人來。"],
        ["三天后到就行。", "五天以内能送到吗？"],
    ),
    (A, "apology_empathy", "hard_on_you"): (
        ["大清早没水，这一早上够您忙活的。", "您这么小心是对的，奶粉封口破了确实不能喝。", "一家老小等着，够你折腾的。"],
        ["这些材料够用的。", "您这么做是不行的，需要本人办理。"],
    ),
    (A, "apology_empathy", "sure_anxious"): (
        ["孩子突然上不了课，当妈的肯定急。", "明天就要出发，您一定急坏了吧。", "錢沒到帳，您肯定很急。"],
        ["您是一定急用吗？", "这单我们当急件处理。"],
    ),
    (A, "apology_empathy", "no_wonder"): (
        ["没人住还收到水费单，难怪您觉得奇怪。", "怪不得您着急。", "也難怪您會生氣。"],
        ["难怪系统显示异常，我给您重置。", "怪不得这么快就到了。"],
    ),
    (A, "apology_empathy", "bad_luck_named"): (
        ["刚下飞机就碰上这种事。", "摊上这种事谁都不好受。", "出門旅遊遇上這種事。"],
        ["如果遇到这种情况的话，您拨打这个电话。", "遇到这种情况时您可以先重启。"],
    ),
    (A, "apology_empathy", "understands"): (
        ["我懂那种心情。", "我理解，换作是我也会着急。", "我能体会您的感受。", "我非常理解。",
         "二十多年的号码，阿姨舍不得，太能懂了。", "这种心情我完全懂。"],
        ["我不太理解您说的订单号。", "您理解错了，这个是月租。", "这个流程我不太懂，帮您问一下。"],
    ),
    (A, "commitment_follow_up", "contact_with_deadline"): (
        ["周四下午五点前我会打给您说结果。", "明天下午五点前供电所会打电话约您换表。", "兩個工作天內專員會打給您。",
         "周六下午两点到五点，师傅到之前会打电话。"],
        ["我跟仓库确认一下出货记录，您稍等。", "您的意见我记下了。", "这个情况我们也会反馈给验机组。"],
    ),
    (A, "commitment_follow_up", "ticket_made"): (
        ["我给您开一张破损理赔单，单号LP3307。", "我现在给您开抢修单。", "我現在就開補寄單。", "我這邊給您建一個複核單。"],
        ["理赔单需要您本人签字。", "抢修单号您有吗？"],
    ),
}

HARSH = [
    "您落单时就该自己写清楚。", "这您寄之前就该自己盯着点。", "您下回看清楚再点。",
    "当初嫌贵就别分期嘛。", "嫌麻烦的话您也可以不报。",
    "您返到香港自己去分行搞啦。", "您自己找找呗。", "您叫几个朋友自己抬上去咯。",
    "税是海关定的，您跟海关掰扯去。", "那您跟他们要说法去。", "你叫物业去弄。", "您要比就去坐别人家的。",
    "又没人拦着您看。", "又不是抬不动。", "别人家怎么样跟我们有什么关系。", "您说什么都一样。", "跟我这儿磨也没用。",
    "现在才讲有什么用。", "暖气不热不是很正常吗？", "哪来那么多为什么。", "您专门打个电话过来就为这个？",
    "这也不难吧。", "连放气都不会。", "跟您讲细了您也不一定分得清。", "系统比我清楚。", "我这儿只认条款。",
    "谁跟您说的您找谁。", "您当时八成不在家吧。", "显示不可退那就是不可退。", "锁了不关我们的事。",
    "怪不着司机。", "系统怎么判就怎么算。", "不交就退回去呗。", "您明天自己再来个电话。",
    "密碼係您自己打錯，鎖咗唔關我哋事。", "我呢度理唔到咁多。", "又沒人拿刀架著您。",     # Traditional, Cantonese
    "这点常识您应该有吧。", "这有什么看不明白的。", "你这都找不着吗？", "至于专门打个电话来吗？", "这种也值得专门打个电话来问啊。",
    "我跟你说了半天你怎么就是听不进去。", "不是您说了算的。", "谁让您下单前不问一句呢。", "这个锅我们可不背。",
    "是你们楼自己的毛病。", "那是你运气好。", "是您自己买的吧，几十块的杂牌货。", "我这边线上还压着一排人呢。",
    "你叫家里年轻人帮你点两下得了。", "改完了再说。", "你折腾来折腾去图个什么。", "你也替快递员想想。", "您跟他要去啊。",
    "我们这是保险热线，又不是培训班。", "您上楼问去呀。", "那是您跟司机两个人之间的事。", "是我们的人又怎么样。",
    "那往后谁还敢给您家装宽带。", "登不登结果都一样。", "机器搁在斜地面上，能不坏吗？", "报进去也是陪跑。", "您这么抠字眼。",
    "那会儿一声不吭，这会儿倒想起来了。", "那是您自己的选择。", "您下车的时候自己也没回头看一眼。", "您拿什么证明？",
    "那您怎么不早说。", "上不上门就看他心情了。", "别的先不用讲。", "那今晚先点个外卖嘛，也饿不着。", "可以的，您随意。",
    "已经扣了的不存在退还一说。", "訂票嗰陣冇睇咩？", "呢啲我講咗您都唔會聽㗎啦。", "改唔改您自己諗。",       # Traditional, Cantonese
    "平时新闻都不看的吗？", "您是不看家长群的吧。", "您当时是一眼都没扫吗？", "那能赖谁？", "这也能赖到排号头上？",
    "您这一开口倒像是我们给您打错了似的。", "说白了是您自己给打开的。", "拼车图的就是便宜，哪有这么美的事儿。", "您开心就好。",
    "也不能光围着你一个人转。", "照您这意思，放长假银行就得停账是吧？", "您还指望它是玻璃种啊。", "这心也太大了。",
    "您这算盘打得比精算师还响。", "余额得您自己上点心。", "您在我这儿说破天也回不来。", "甭跟我这儿一句一句耗着。",
    "你先别一句一句数落了。", "您就直说想怎么样吧。", "这些您刚才都讲过了。", "我不会念第三遍的。", "您到底续不续，给个痛快话。",
    "您先把这俩弄明白了，咱们再往下说。", "现在回过头又说被推销。", "您连要什么都没弄明白就来电话。", "这事儿就别再提了。",
    "您真要去投诉也可以，只是到时候这个名额我就不好再给您留着了。", "有证据就去报警呗。", "您觉得不合适可以看看别家。",
    "租客房东之间的账我们不掺和。", "我们是售后又不是110。", "我这儿又不是签证中心。", "网上那种小盒子您也信啊？",
    "今晚攞卡？咪諗喇。", "使唔使咁緊張呀？", "咁係邊個搞錯先？",                      # Cantonese
    "人脸核验我关不了。", "这不是我们的问题。", "线路的事我们管不了。",                   # no reason: still harsh
    "规定的就是规定的。", "系统定的就是系统定的。", "扣咗就系扣咗。",                     # a rule restated as itself
    "我们又不是给您一个人服务的。", "客服又不是替你跑腿的。", "我又不可能替您去银行排队。",
    "您要早点来办，不就没这事了。", "你当初早些续费，哪会停机。", "您要是早点打电话，也就不会扣钱了。",
    "通知发了三遍您都不看。", "合同上写着，你都不读的吗。", "说明书一个字都不看就装。",
    "那随您吧。", "随你了。", "那就随您。",
    "到期就恢复原价，懂吗？", "我说了几遍了，你懂不懂？", "这样听懂没？",
    "我们也不差您这一单。", "不差你这一个客户。", "我们不差这点钱。",
    "这不很正常嘛。", "下雨天晚点，这不挺正常的嘛。", "孩子说的您也全信啊？", "网上的话你也都信？", "這種短信您也全信？",
    "总不能是我们替您点的吧。", "总不能我给你交吧。", "总不能是我帮您刷的。",
    "这回老老实实听完再问。", "您老实点把表填完。", "下次老老实实排队。",
    "您当场怎么不检查一下？", "快递到了也不早说。", "您下单前哪怕点开看一眼呢。", "你拖了一个月才打电话。", "都过保了现在才来问。",
    "当初是您自己说不要保险的。", "价格是您自个儿填的。", "这是您个人的问题。", "你买之前就应该问清楚。",
    "您先别解释了。", "你别嚷了。", "你这种我们见多了。",
    "再这样我有权结束通话。", "您自己想清楚。", "您可得想清楚，后果自负。", "以后还能不能给您办，可就不好说了。",
    "截图发过来也没用。", "您再催也没用。", "这跟没修有啥两样。",
    "勇气可嘉。", "您这耳朵比仪器还灵。", "偏偏就你家的坏了？", "手机又不会自己飞了。", "三天都抽不出时间看一眼？",
    "您知道过期是什么意思吧？", "这下听明白了吧？", "条款在哪您找出来念给我听听。", "那你是想让我替你去办？",
    "您當場怎麼不檢查一下？", "這是您個人的問題。",                                   # Traditional
    "我一个字一个字念给您听。", "这下您听明白了没有？", "您这属于明知故犯。", "您这是第一次办卡吧？",
    "你再这样嚷我就挂电话了。", "知道了知道了，您说重点。", "行了行了，别念了。", "师傅的油钱谁出？",
    "凭您一句话我就给您退？", "投吧，电话是12345。", "那我还说我是给学校买的呢。", "系统不扣你扣谁？", "没人逼你买。",
    "就您家事最多。", "您当我们是慈善机构呢？", "您当快递员是您家保姆啊？", "您就直说要退钱对吧。", "您當我們是慈善機構呢？",
    "您说坏了就坏了？", "要不要我把录音放给您听？", "这也要人教？", "这个还要我们帮您找？", "后面的人都得陪您耗着。",
    "别的家长都没吭声。", "您能不能先把单号找好再打来？", "您自己总得看一下吧。", "您比师傅还懂？", "您这一眼都没核对啊。",
]
NOT_HARSH = [
    "您下次可以提前在App里预约。",                       # advice, no put-down
    "您可以自己在App里查一下进度。",                     # an instruction, no 啦/呗
    "这个确实做不到，我们和平台之间没有直接的渠道。",       # 确实 acknowledges the customer
    "地板得有人到现场看过才能定，我这边定不了。",           # a condition first
    "件已经出了中转站，系统里改不了派送地址。",             # a state reached
    "您现在的合约到明年三月，没法直接转出去。",             # a contract
    "这个不是您的问题，我们马上处理。",                   # polite negation
    "您放心，又不是什么大问题，我们马上给您换。",           # reassurance (又不是 + no 不V)
    "我们再来个电话跟您确认。",                           # the agent calls back
    "这个跟您没有关系，是我们系统的问题。",                # an admission
    "照我们的流程是赔不了的，这一点确实比较严。",           # a rule named
    "测完了，光信号收不到，线断在入户这一段。",              # a diagnosis
    "清机时间我这儿定不了，看网点那边的安排。",              # who decides
    "这个说不准，得看司机什么时候收车。",                    # 司机什么 is no 急什么
    "严保您当时没有买，这个现在补不了。",                    # what was not bought
    "温度记录到站就截止了，后面这段我们这边查不到。",          # what has closed
    "这个现象很正常，您不用担心。",                          # reassurance
    "您可以自己决定要不要升级。",                            # a choice offered
    "这个号码我们已经加进骚扰库了，以后再打进来会直接拦截。",    # a scam number blocked, no call-again
    "拼车途中接人是合规的，改签的费用平台这边不补。",            # within the rules
    "国际航班的姓名要跟护照完全一致，不一致值机是办不了的。",    # a requirement
    "充电宝也不能单独寄，航空公司对锂电池管得很严。",            # a strict rule
    "补卡要七个工作天，寄唔到海外。",                          # how long it takes
    "赔偿这块我这边定不了，要等师傅看了现场。",                 # who decides next
    "检修是体育馆统一安排的，时间我们改不了。",                 # who set it
    "纸质的专票这边开不了，现在统一是数电发票。",               # the rule for everyone
    "这家店已经跟我们解约了，没用的券都可以全额退。",            # unused, not useless
    "专程跑一趟结果吃不到，真的很傻眼齁。",                    # empathy
    "现场办理按现场价走，线上的优惠这边退不了。",                # a rule applied
    "限制是系统自动加的，三天后自动解除，人工解不了。",          # it ends by itself
    "水压太低会打不着火，电话里修不了，得师傅上门看。",          # a cause, a technician
    "人脸核验是监管要求，我关不了。",                           # a regulator's rule (关不了 only sounds like 管不了)
    "路灯不是我们公司的，这个我们派不了人。",                   # someone else's equipment
    "具体时间我这边给不了。",                                   # no date to give
    "地址比对不到，包裹暂时放在营业点。",                       # a look-up that found nothing
    "平台没规定一定要走高速。",                                 # no rule requiring it
    "这边退不了，小程序里有个申诉入口。",                       # a way in named
    "現場收費按現場價走，系統裡改不了。",                       # Traditional: a rule applied
    "这就是我们说的那个套餐。", "问题就是网络不稳定。",           # 就是 without the repetition
    "这又不是您的错，我们来处理。", "又不是第一次了，我们肯定给您办好。",
    "您要是早点到，我们可以先给您办。", "您早点休息，明天快递就到。",
    "您都不用来，我们上门取。", "您不看也没关系，我念给您听。",
    "随您方便，什么时候都可以。", "颜色随您挑。",
    "我也不太懂这个，帮您问一下。", "价格不差多少，您放心。",
    "这不正常，我们马上派人。", "我们的短信您也可以回复确认。",
    "总不能让您白跑，我们给您报销车费。", "我老实跟您说，这个确实退不了，但可以换。",
    "您怎么不方便接电话，我们可以改短信联系。", "我们现在才收到您的材料，马上处理。",
    "这个套餐是您选的，我给您看一下明细。", "您个人信息我们会保密。",
    "您别着急，慢慢说。", "这种情况我们见过，换个配件就好。",
    "您想清楚了再告诉我就行，不着急。", "这个合约您有权提前终止，违约金我来算。",
    "用了也没什么问题，您放心。", "照片发过来，我们帮您申请。",
    "这款比上一代还轻。", "偏偏赶上下雨，真是不好意思。", "机器不会自己重启，您按一下电源键。",
    "您知道什么时候发货吗？我帮您查。", "您那边能听清吗？",
    "我查一下有没有别的办法，您稍等。", "不用退货，不可能让您这么折腾的。",   # a question, reassurance
    "不会的，只是水压低，出不来热水很正常。", "不用上门，您自己换个电池就行。",      # a turn that opens by reassuring
    "包裹已经上了飞机，这个阶段没办法截回来了。", "退不退要看审核，我这边先帮您提交。", # a state reached; A-not-A
    "不用上門，您自己換個電池就行。",                                               # Traditional
    "我一个字一个字核对一下您的地址。", "您那边能听清楚吗？", "这是第一次出现这种情况，我们马上处理。",
    "好的，知道了，我马上帮您改。", "骨灰盒不可以托运，要随身带上飞机。",                # what must be done instead
    "凭您的身份证就可以办。", "投诉的话可以打12315，我也会帮您登记。", "就您说的这个问题，我马上查。",
    "您当时是在门店买的吗？", "超过百分之八十系统无法受理，最多可贷三万。",               # a threshold passed
    "设好了，对方拨号会听到无法接通的提示音。",                                        # what the customer will hear
    "我查一下能不能单独补发，请稍等。", "您说的情况我记下了，马上处理。", "需要的话我可以把录音调出来给您核对。",
    "别的问题都没有，就这一项要补。", "这个我们帮您找，您稍等。",
]

# A hold return that thanks anywhere in the turn, or only asks for more waiting.
THANKED_RETURNS = ["查到了，这半分钟谢谢您没走开。", "记录调出来了，辛苦您等这么一阵，谢谢。", "唔該晒您等咗咁耐，報價係有計嘅。",
                   "耽误您快一分钟了，系统显示已经发货。"]
UNTHANKED_RETURNS = ["记录调出来了，您的包裹在派送中。", "您再等我一下，还在查，谢谢。", "查到了，感谢您提供的订单号。"]


def _acts(book, text, speaker):
    return {a.name: a for a in book.acts.tag_text(text, speaker)}


ROWS = [(spk, act, pid, text) for (spk, act, pid), (must, _) in PATTERNS.items() for text in must]
MISSES = [(spk, act, pid, text) for (spk, act, pid), (_, must_not) in PATTERNS.items() for text in must_not]


@pytest.mark.parametrize(("speaker", "act", "pattern", "text"), ROWS)
def test_pattern_sentences_carry_the_act(book, speaker, act, pattern, text):
    acts = _acts(book, text, speaker)
    assert act in acts, f"{text!r} should be {act} ({pattern}); got {sorted(acts)}"


@pytest.mark.parametrize(("speaker", "act", "pattern", "text"), MISSES)
def test_near_misses_do_not(book, speaker, act, pattern, text):
    acts = _acts(book, text, speaker)
    assert act not in acts, f"{text!r} must not be {act} (near miss of {pattern}); got {acts[act].evidence if act in acts else ''}"


@pytest.mark.parametrize(("speaker", "act", "pattern"), list(PATTERNS))
def test_each_pattern_finds_its_sentences(book, speaker, act, pattern):
    """The pattern itself fires on some of its sentences (not only a neighbour)."""
    found = [book.acts.pattern_ids(compact_text(t), speaker, act) for t in PATTERNS[(speaker, act, pattern)][0]]
    assert any(pattern in ids for ids in found), found


def _harsh_at(book, reply):
    return [f.utterance_index for f in assess(agent_reply_call(reply, "哦。"), book).findings
            if f.rule_id == "harsh_negation"]


@pytest.mark.parametrize("text", HARSH)
def test_put_downs_and_brush_offs_are_harsh(book, text):
    assert _harsh_at(book, text) == [2]


@pytest.mark.parametrize("text", NOT_HARSH)
def test_advice_reasons_and_admissions_are_not_harsh(book, text):
    assert _harsh_at(book, text) == []


def test_a_brush_off_nobody_followed_up_leaves_the_call_unresolved(book):
    qa = assess(spoken_call((A, "您好，客服中心，请问有什么可以帮您？"), (C, "快递站说我的件被退回了。"),
                            (A, "那是快递站的安排，您跟他们要说法去。"), (C, "哦。"), (A, "再见。"),
                            call_id="t-open-brush-off"), book)
    assert qa.resolution == "unresolved"


def _hold_call(back):
    return spoken_call((A, "您好，客服中心，请问有什么可以帮您？"), (C, "我想查一下我的订单。"), (A, "我查一下，请稍等。", 20.0),
                       (A, back), (C, "好的。"), (A, "感谢您的来电，再见。"), call_id="t-hold")


@pytest.mark.parametrize("back", THANKED_RETURNS)
def test_thanks_anywhere_in_the_return_counts(book, back):
    assert assess(_hold_call(back), book).checks["hold_thanks_missing"] == "pass"


@pytest.mark.parametrize("back", UNTHANKED_RETURNS)
def test_return_without_thanks_for_the_wait_fails(book, back):
    assert assess(_hold_call(back), book).checks["hold_thanks_missing"] == "fail"


@pytest.mark.parametrize("empathy", ["心里肯定七上八下的，您报一下户号。", "難怪您會覺得奇怪，請給我水號。"])
def test_empathy_alone_shows_a_problem_was_reported(book, empathy):
    """No trigger word in the customer's report, but the agent named the trouble: apology present."""
    qa = assess(spoken_call((A, "您好，客服中心，请问有什么可以帮您？"), (C, "我家那间房空着，水费单写了二十吨。"),
                            (A, empathy), (C, "1234。"), (A, "感谢您的来电，再见。"), call_id="t-implied"), book)
    assert qa.checks["apology_missing"] == "pass"


def test_a_ritual_sorry_does_not_imply_a_problem(book):
    qa = assess(spoken_call((A, "您好，让您久等了，请问有什么可以帮您？"), (C, "我想开一张发票。"),
                            (A, "好的，已经开好了。"), (C, "谢谢。"), (A, "感谢您的来电，再见。"), call_id="t-ritual"), book)
    assert qa.checks["apology_missing"] == "not_applicable"


def test_empathy_at_the_first_report_answers_a_later_complaint(book):
    qa = assess(spoken_call((A, "您好，客服中心，请问有什么可以帮您？"), (C, "我的包裹App显示到了，店里说没有。"),
                            (A, "专程跑一趟扑了空，心里一定很呕。取件码是多少？"), (C, "5930。"),
                            (A, "查到了，送错店了。"), (C, "所以我白跑了？"), (A, "我们马上改送，今天下午五点前到。"),
                            (C, "好吧。"), (A, "感谢您的来电，再见。"), call_id="t-earlier"), book)
    assert qa.checks["apology_missing"] == "pass"


def test_every_pattern_is_tabled_once():
    """A key written twice in PATTERNS silently drops the first table of sentences."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    table = next(n.value for n in tree.body if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "PATTERNS")
    keys = [ast.unparse(k) for k in table.keys]
    assert len(keys) == len(set(keys)), sorted({k for k in keys if keys.count(k) > 1})


@pytest.mark.parametrize("report, expected", [
    ("我想把副卡停掉，不是卡坏了，就是平时不怎么用。", "not_applicable"),   # a trouble denied is no report
    ("我想问一下多大的充电宝能带上飞机。", "not_applicable"),             # 问一下多大 is no sudden change
    ("我的副卡坏了，一直用不上。", "fail"),
])
def test_a_denied_trouble_or_a_plain_question_needs_no_apology(book, report, expected):
    qa = assess(spoken_call((A, "您好，客服中心，请问有什么可以帮您？"), (C, report), (A, "好的，您报一下号码。"),
                            (C, "一三九零七五五二一八六。"), (A, "感谢您的来电，再见。"), call_id="t-denied"), book)
    assert qa.checks["apology_missing"] == expected
