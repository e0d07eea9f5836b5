"""Word banks of the rule-based Chinese poet: imagery by motif, feeling by mood.

Every entry is a plain string; a bank is written as one whitespace-separated string. A leading
mark colours an event: ``+`` bright, ``-`` dark, ``!`` stirring, ``~`` calm; unmarked events suit
any mood. Season and time of day are read off the characters (see ``rule_poet``), so 落叶 is
autumn and 月 is night without tagging by hand.

A scene line is ``place + event`` (林间 / 落叶飞); a seven-character line puts a mood's
condition in front (秋深 / 林间 / 落叶飞). Events are clauses that read well after any place of
their motif; events of a *universal* motif (moon, wind, rain...) read well after any place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Motif:
    """An image family: prompt keywords, title heads, places (2 chars), events (3 chars)."""

    keys: str
    titles: str
    places: str
    events: str
    actors: str = ""
    universal: bool = False


MOTIFS: dict[str, Motif] = {
    "forest": Motif(
        keys="森林 树林 丛林 林 树 木 松 竹 forest woods wood trees tree pine grove",
        titles="林中 深林 林间 松下 林下",
        places="林间 林中 松下 竹间 林下 深林 空林 幽林 石径 苔径 古木 枯藤 树底 林外 涧底",
        events="""起轻烟 暮烟残 ~鹤声闲 +鸟声喧 树影长 +野花香 暮色苍 ~鸟声清 古木青 +百鸟鸣
        翠色浓 雾气浓 暗泉鸣 !山鸟惊 -夜鸦鸣 暗泉流 涧水流 苔色深 雾气沉 竹影昏 +鸟语频
        -鸟声稀 露沾衣 雾迷离 竹影移 鹿迹迷 落叶飞 -暮鸦归 鹤影微 树影摇 +野花开 白云来
        -古木枯 落叶黄 藏古寺 -无人迹 苔痕绿 !松涛起 暗泉响 -寒鸦噪 叶声细 竹影乱 鹿迹远
        !风撼木 +莺声啭""",
        actors="樵夫 山僧 隐者",
    ),
    "mountain": Motif(
        keys="山峰 高山 群山 山 峰 岭 岩 崖 mountain mountains peak peaks hill hills cliff",
        titles="山中 山居 登山 山行",
        places="山中 峰头 岭上 崖边 山前 山腰 绝顶 空山 千峰 翠微 石上 云岭 山下 岭外 洞口",
        events="""白云生 -暮云低 +翠色新 云海翻 +野花繁 !瀑声喧 ~烟霭闲 -猿声哀 古寺钟 ~鸟声空
        石径斜 +红叶稠 野径幽 !雷雨收 ~松月明 +晴翠浮 -暮霭沉 !云气蒸 鹤飞还 雁字斜
        -残雪寒 涧水寒 翠色连 ~白云闲 落日圆 远岫青 云雾重 -猿啸远 !飞瀑泻 ~松影静
        石苔湿 !云脚乱 古寺隐 瀑声细""",
        actors="樵夫 山僧 隐者 行客",
    ),
    "river": Motif(
        keys="江河 河流 长江 大江 江 河 溪 川 水 river stream brook creek water",
        titles="江上 江边 溪上 临江",
        places="江上 江边 溪边 渡口 沙洲 烟波 孤舟 津头 芦花 岸边 水边 汀洲 溪畔 江畔 浦口",
        events="""~水悠悠 -暮帆收 ~渔火明 +柳色新 -雁声哀 !浪花翻 ~白鸥闲 波光寒 -夕照残
        烟水连 芦花白 ~水云闲 帆影斜 +春水生 -秋水寒 ~月华流 归棹轻 水声喧 !急流奔
        -孤雁鸣 晚潮平 ~鸥鹭眠 !惊涛起 -寒烟冷 ~流水缓 渔歌起 帆影远 !浪声急""",
        actors="渔翁 舟子 钓叟",
    ),
    "sea": Motif(
        keys="大海 海洋 沧海 海 洋 潮 浪 sea ocean waves wave tide shore",
        titles="海上 观海 沧海 海滨",
        places="海上 海边 沧海 天涯 潮头 沙头 波心 海天 孤岛 礁石 洲前 浪里 岛外 天际",
        events="""+日出东 !怒涛翻 -潮声哀 ~海天空 水连天 !浪涛高 ~月轮孤 -雁声长 +霞光红
        !风浪急 潮水平 ~碧波平 渔火明 海雾浓 -潮水寒 !巨浪奔 ~鸥影闲 +彩霞飞 帆影遥
        -孤帆远 !涛声怒 ~潮声缓 海雾起 !巨浪涌""",
        actors="渔翁 舟子 海客",
    ),
    "village": Motif(
        keys="故乡 家乡 乡村 村庄 故园 家园 田园 村 乡 home hometown village farm countryside",
        titles="故园 村居 田家 乡关",
        places="村前 柴门 田间 陌上 溪桥 村口 茅檐 井边 篱落 桑间 场圃 南亩 村外 井畔",
        events="""起炊烟 鸡犬闻 +稻花香 +麦苗青 牧童归 老树斜 稻粱黄 +桑叶肥 野水平 柳阴浓
        晚风凉 -暮烟低 +燕归来 -旧井荒 ~夕照微 炊烟起 鸡犬吠 牛羊下 人声细 -蛩声急
        +儿童戏 ~豆花落""",
        actors="牧童 田父",
    ),
    "city": Motif(
        keys="城市 城中 都市 城 楼 街 巷 市 city town street streets tower towers",
        titles="城中 城楼 长安 楼头",
        places="城头 楼头 街头 巷陌 高楼 长街 楼台 宫墙 城南 市井 酒楼 门前 城下 巷口 阙下",
        events="""+灯火明 -鼓声残 +笙歌喧 -暮鸦啼 柳色新 +车马喧 ~钟鼓闲 -角声哀 +月华浓
        人声稀 烟柳垂 -夜漏长 +花影斜 -寒砧鸣 !鼓角鸣 +歌舞欢 -残灯昏 ~夜色深
        灯影乱 -人已去 !鼓声急 ~檐雨滴 +歌吹沸 -寒砧断""",
        actors="行人 游子 歌女",
    ),
    "flower": Motif(
        keys="花园 园林 花 园 梅 桃 荷 菊 兰 flower flowers garden blossom blossoms rose petals",
        titles="花间 园中 花下 庭院",
        places="花间 庭前 园中 篱边 阶前 池边 花前 墙角 枝头 小园 曲栏 芳丛 花下 院落 亭畔",
        events="""+桃李繁 +花正繁 暗香浮 -落红残 +蝶双飞 疏影斜 +春色新 +花影摇 -菊花残 ~竹影闲
        +蜂蝶忙 -花自飞 荷叶圆 +莺燕啼 -梅自开 +杏花红 -黄菊枯 ~兰蕙香 +海棠开
        -花满地 +芳草绿 -红已瘦 暗香动 +花似锦 -花落尽""",
        actors="佳人 游子 园翁",
    ),
    "moon": Motif(
        keys="月亮 明月 月光 月 moon moonlight",
        titles="月下 望月 月夜 对月",
        places="月下 庭前 窗前 楼头 阶前 帘外",
        events="""~月华明 ~素光流 -月色寒 +月正圆 ~清辉满 -冷月孤 ~月影移 月如钩 ~月如霜
        -月西沉 月影斜 ~月色清 -月光冷 ~月初上""",
        universal=True,
    ),
    "night": Motif(
        keys="夜晚 深夜 黑夜 夜 宵 night midnight darkness dark",
        titles="夜坐 夜思 夜吟 静夜",
        places="夜半 灯前 窗前 帘外 枕边 檐下",
        events="""~夜色深 -孤灯昏 ~星汉明 -更漏长 ~万籁空 -寒更残 星斗稀 夜气清 ~虫声幽
        -孤灯暗 星斗转 ~夜将半 -更漏永""",
        universal=True,
    ),
    "wind": Motif(
        keys="风 wind breeze gale",
        titles="风中 听风 风吟 临风",
        places="风前 风中 檐前 阶前 帘外 窗前",
        events="""~风自清 !风满楼 -风雨凄 ~微风轻 +东风暖 -西风寒 !狂风吼 ~松风鸣 -朔风吹
        !风声急 ~风渐定 -风入户 !风正劲""",
        universal=True,
    ),
    "rain": Motif(
        keys="雨 细雨 骤雨 rain rainy drizzle storm",
        titles="雨中 听雨 夜雨 雨后",
        places="雨中 檐前 窗前 阶前 帘外 雨后",
        events="""~细雨斜 -雨潇潇 ~雨如丝 !骤雨来 -冷雨凄 +春雨香 ~雨声幽 -秋雨寒 !暴雨倾
        +新雨晴 ~雨初停 -雨未歇 !雨声骤 ~檐溜滴""",
        universal=True,
    ),
    "snow": Motif(
        keys="雪 冰 霜 snow snowy ice frost winter",
        titles="雪中 雪夜 咏雪 踏雪",
        places="雪中 雪后 檐前 阶前 窗前 门前",
        events="""~雪纷纷 -朔雪寒 ~雪初晴 +瑞雪飞 -冰雪坚 ~雪满山 !雪压枝 -雪未消 ~梅影疏
        -雪花冷 ~雪光白 !雪正急 ~雪渐积""",
        universal=True,
    ),
    "cloud": Motif(
        keys="云 霞 天空 sky clouds cloud heaven",
        titles="云中 望云 云外 登高",
        places="云中 云外 天边 天际 高处 空中",
        events="""~白云闲 +彩霞明 -暮云低 ~孤云飞 !云涌奔 ~碧空明 +霞满天 -云漠漠 ~云卷舒
        -乱云飞 ~云自在 !云翻墨 ~孤云去""",
        universal=True,
    ),
}


@dataclass(frozen=True)
class Mood:
    """How a mood writes: conditions (2 chars) for long lines, people and their actions, the
    feeling of the last line (quantifier + noun + tail), title tails, favoured characters and the
    themes (``verse_bank.THEMES``) a poem of the mood may keep to when the prompt names none."""

    chars: str
    conds: str
    actors: str
    actions: str
    quants: str
    feelings: str
    tails: str
    titles: str
    themes: str = "home"


MOODS: dict[str, Mood] = {
    "joyful": Mood(
        chars="春花笑歌晴暖莺桃喜光新红绿欢醉明芳",
        conds="春深 日暖 风和 天晴 春来 雨霁 晴明 花开 日丽 莺啼",
        actors="少年 游人 故人 佳人 行人 诗人",
        actions="歌一曲 沽美酒 踏青去 相逢笑 醉归去 寻芳草 同携手 倾杯饮 吟佳句 争拍手",
        quants="一片 满怀 无限 几分 十分",
        feelings="欢情 清欢 诗情 春心 逸兴 雅兴 笑语 喜气 乐事",
        tails="""醉春风 入新诗 共云飞 满山川 似花开 上青天 醉流霞 满天涯 乐陶陶 映朝阳 正悠悠
        满乾坤 伴莺声 付春光 上眉梢 逐春来 入画图 伴笑声 入酒杯 醉绿杨""",
        titles="即事 春游 欢歌 乐游 行乐",
        themes="wine music travel",
    ),
    "awed": Mood(
        chars="天星峰云浩万辉海高长苍雄壮千古",
        conds="天高 云开 日出 风起 天长 星垂 千峰 万壑 穹苍 海阔",
        actors="游子 行客 壮士 诗人 高士",
        actions="登绝顶 凌风立 长啸罢 凭高眺 惊造化 望天阔 吟未罢 开胸臆",
        quants="万丈 一片 千古 无限 浩荡 千秋 凌云 满怀",
        feelings="豪情 壮心 胸怀 襟怀 雄心 逸气",
        tails="""上青天 贯长虹 满乾坤 与天齐 接云霄 动星辰 纳山川 入苍穹 傲苍茫 共长江 万古传
        凌九霄 吐虹霓 越千山""",
        titles="远眺 登临 纵览 放歌 壮游",
        themes="temple hermit travel",
    ),
    "serene": Mood(
        chars="静月清泉松闲烟鹤竹溪幽空淡寂轻白",
        conds="夜静 云闲 风轻 雨后 日长 烟轻 月白 天清 水静 心远",
        actors="幽人 老僧 隐者 闲人 山翁 道人",
        actions="闲煮茗 临流坐 抚琴罢 常独往 忘归路 眠石上 观鱼乐 扫落叶 焚香坐 读残卷",
        quants="一片 几许 半生 终日 此心",
        feelings="闲心 禅心 尘心 幽怀 清怀 野趣 清梦 幽意 逸致",
        tails="""对青山 伴白云 共月明 付清泉 逐溪流 寄渔樵 澹如秋 自悠然 两相忘 伴鹤飞 对斜晖
        自忘机 在松间 似水清 向禅关""",
        titles="闲居 独坐 静思 幽居 夜坐",
        themes="hermit temple music",
    ),
    "nostalgic": Mood(
        chars="旧故乡忆归昔年家梦远秋暮残",
        conds="秋来 年深 日暮 夜阑 岁晚 梦回 去年 别后 归来 重阳",
        actors="游子 归人 故人 旅人 孤客 离人",
        actions="思故里 忆旧事 归未得 怀故旧 寻旧路 频回首 书未寄 空怅望 重来此 独徘徊",
        quants="一片 几许 无限 多少 万里 千重 无穷 满怀",
        feelings="乡思 归心 旧梦 故情 乡愁 离魂 别恨 归梦 旧事",
        tails="""绕故园 到天涯 逐归鸿 忆当年 梦江南 寄流年 满故乡 绕乡关 似当初 寄归舟 向东流
        何时归 忆旧时 入黄昏 满关山""",
        titles="怀旧 忆远 思归 感旧 怀乡",
        themes="home age travel",
    ),
    "melancholy": Mood(
        chars="愁泪孤寒落秋残暮别雨冷凄萧瘦独",
        conds="秋深 天寒 风凄 日暮 雨歇 霜重 夜永 人去 岁暮 花落",
        actors="孤客 游子 行人 佳人 离人 旅人",
        actions="空回首 泪沾袖 愁不寐 伤离别 肠欲断 归未得 空惆怅 倚阑久 独凭吊 魂欲断",
        quants="一片 无限 几许 多少 千般 万种 千重 满怀",
        feelings="愁心 离愁 孤怀 清泪 愁思 离情 愁绪 离恨 别恨",
        tails="""寄寒烟 满江天 断人肠 寄斜阳 逐飞蓬 寄孤鸿 付西风 付东流 上眉头 满西楼 寄浮云
        入黄昏 湿罗衣 满征衣 路迢迢 入梦来 满苍苔 满归途 对残灯 似旧时 向落晖""",
        titles="感怀 秋思 愁吟 独叹 伤别",
        themes="parting age home",
    ),
    "mysterious": Mood(
        chars="幽雾深隐影谜暗林玄古烟迷冥苔寂空微",
        conds="雾重 云深 夜深 烟迷 天阴 月隐 林深 路转 山深 苔滑",
        actors="幽人 行人 隐者 何人 山客 道人",
        actions="寻幽径 迷去路 闻异响 疑无路 忽回顾 不知处 踪迹杳 寻仙迹 问樵者 循古道",
        quants="一片 几许 无限 满怀 万缕",
        feelings="幽情 玄思 幽怀 心事 尘心 疑情 幽意 幽梦",
        tails="""入苍烟 隐云间 问苍茫 问青冥 杳难寻 寄浮云 自迷离 入空蒙 不可知 何处求 入玄微
        有谁知 付寒烟 向谁言 绕云根""",
        titles="幽思 寻幽 探幽 秘境 幽寻",
        themes="temple hermit music",
    ),
    "tense": Mood(
        chars="急危惊紧疾险风鼓追夜孤寒乱",
        conds="风急 夜深 云低 雷动 天昏 月黑 霜重 城危 路险 更深",
        actors="征人 行人 孤客 戍卒 壮士 旅人",
        actions="催马急 闻鼓角 惊回首 奔驰急 潜踪去 持刀立 行未已 屏息立 闻警柝 遥相望",
        quants="一片 几许 此刻 顷刻 一寸 千钧 满怀",
        feelings="惊心 归心 心弦 寸心 征魂 危情 心绪 惊梦 乡梦",
        tails="""似弦绷 乱如麻 不得安 入重围 随鼓声 怯孤城 未能眠 正茫茫 绕危楼 战鼓催 欲何之
        逐流星 向关山 怯寒更""",
        titles="夜行 惊变 急行 行旅 夜警",
        themes="frontier travel parting",
    ),
    "angry": Mood(
        chars="怒火雷烈狂战血剑吼焚愤悲刀",
        conds="风狂 雷鸣 天昏 雨急 电闪 烽起 国破 剑鸣 战罢 城破",
        actors="壮士 将军 书生 男儿 侠客 英雄",
        actions="拔剑起 长啸怒 挥长剑 拍案起 横刀立 击节叹 裂衣甲 怒目视 披甲去 弯弓射",
        quants="一腔 满腔 万丈 千古 冲天",
        feelings="怒气 孤愤 豪气 剑气 悲愤 壮怀",
        tails="""贯长虹 冲斗牛 化惊雷 烈如焚 满山河 裂苍穹 撼乾坤 入霜锋 破天关 满胸膺 向天狂
        卷狂飙 斩长鲸""",
        titles="愤吟 悲歌 长啸 怒歌 壮歌",
        themes="frontier age wine",
    ),
}


def words(bank: str) -> list[str]:
    """The entries of a whitespace-separated bank.

    >>> words("林间 松下")
    ['林间', '松下']
    """
    return bank.split()
