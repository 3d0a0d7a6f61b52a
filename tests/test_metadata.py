"""Article metadata (place, org, year) on small documents of several genres written here.

Every value must be read from the document's own text: a document that names no place
gets no place, an organisation is one the text writes out in full, never composed from a
place and a suffix. The names are made up or general, not taken from the seed corpus.
"""

from __future__ import annotations

import pytest

from rag.ingest.clean import Paragraph
from rag.ingest.pipeline import _share_place, parse_text
from rag.ingest.structure import Article, describe


def _article(title: str, *paras: str, collection: str = "") -> Article:
    art = Article(title, [Paragraph(t, ((0, 0, len(t)),)) for t in paras], 0, 0)
    if collection:
        art.meta["collection"] = collection
    return art


def _about(title: str, *paras: str, collection: str = "") -> dict[str, str]:
    return describe(_article(title, *paras, collection=collection))


# --------------------------------------------------------------------------- genres


def test_company_annual_report_names_its_company_and_no_place():
    meta = _about(
        "华信精密科技股份有限公司2023年年度报告",
        "第一节 重要提示",
        "本公司董事会、监事会及董事、高级管理人员保证年度报告内容的真实、准确、完整。",
        "报告期内，公司实现营业收入12.6亿元，同比增长8.3%；归属于上市公司股东的净利润1.4亿元。",
        "公司股票在证券交易所上市，上市以来公司坚持主业，子公司经营稳定。",
        "公司产品广泛用于城市轨道交通，上市公司治理结构持续完善，上市首年即实现分红。",
    )
    assert meta == {"org": "华信精密科技股份有限公司", "year": "2023"}  # no place: 上市/城市 are no places


def test_company_notice_takes_the_company_the_body_names_in_full():
    meta = _about(
        "关于召开临时股东大会的通知",
        "晨星电子集团有限公司（以下简称“公司”）董事会决定召开临时股东大会。",
        "本次会议审议公司2024年度财务预算方案，子公司负责人列席会议。",
        "特此公告。晨星电子集团有限公司董事会",
    )
    assert meta == {"org": "晨星电子集团有限公司"}


def test_statistics_bulletin():
    meta = _about(
        "2023年临江市国民经济和社会发展统计公报",
        "初步核算，全年全市地区生产总值512.3亿元，比上年增长5.2%。",
        "全市规模以上工业增加值增长6.1%，城镇居民人均可支配收入4.2万元。",
        "注：本公报数据由市统计局提供。",
    )
    # 市统计局 only says "the city's statistics bureau": no 临江市统计局 is put together
    assert meta == {"place": "临江市", "year": "2023"}


def test_place_name_jieba_does_not_know_is_found_in_the_characters():
    # jieba cuts an unknown name badly (澄/岭市, 鹭/汀市); the name is still read, because the
    # text also writes it without its suffix (澄岭调查队, 鹭汀首届)
    bulletin = _about(
        "澄岭市2023年国民经济和社会发展统计公报",
        "澄岭市统计局　国家统计局澄岭调查队",
        "2023年，全市地区生产总值增长5.1%，澄岭市城镇居民人均可支配收入增长4.6%。",
    )
    assert bulletin == {"place": "澄岭市", "year": "2023"}
    news = _about(
        "鹭汀首届城市马拉松鸣枪开跑",
        "本报讯 3月16日，鹭汀市首届城市马拉松在市体育中心鸣枪开跑。",
        "鹭汀市副市长宣布比赛开始，两万名跑者参赛。",
        "赛事由鹭汀市体育局主办。",
    )
    # the title says 鹭汀, the body 鹭汀市; the bureau is named once: no organisation
    assert news == {"place": "鹭汀市"}


def test_local_regulation():
    meta = _about(
        "青川县饮用水水源保护条例",
        "第一条 为了保护饮用水水源，根据《中华人民共和国水污染防治法》等法律法规，结合本县实际，制定本条例。",
        "第二条 本县行政区域内饮用水水源的保护和管理，适用本条例。",
        "第三条 县人民政府应当加强对饮用水水源保护工作的领导，县生态环境主管部门负责监督管理。",
        "第四条 本条例自2024年1月1日起施行。",
    )
    # the year a regulation takes effect is in its body, not its title: no year
    assert meta == {"place": "青川县"}


def test_encyclopedia_entry_about_a_place():
    meta = _about(
        "珠穆朗玛峰",
        "珠穆朗玛峰是喜马拉雅山脉的主峰，海拔8848.86米，是世界最高峰。",
        "它位于中国与尼泊尔的边界上，北坡在中国境内，南坡在尼泊尔境内。",
    )
    # The entry is about a place and its title names it: that is the place. Neither 中国 nor
    # 尼泊尔 -- the peak lies on their border and the text gives neither more weight; and
    # no organisation is named.
    assert meta == {"place": "珠穆朗玛峰"}


def test_encyclopedia_entry_about_no_place():
    meta = _about(
        "光合作用",
        "光合作用是绿色植物利用光能，把二氧化碳和水合成有机物并释放氧气的过程。",
        "光合作用分为光反应和暗反应两个阶段，在叶绿体中进行。",
    )
    assert meta == {}


def test_news_article_takes_the_organiser_the_body_names():
    meta = _about(
        "云岚市举办首届职工篮球联赛",
        "本报讯 5月20日，由云岚市总工会主办的首届职工篮球联赛在市体育中心开幕。",
        "云岚市总工会负责人介绍，本届联赛共有42支职工球队参赛，比赛将持续一个月。",
        "据了解，云岚市总工会今年还将举办职工乒乓球、羽毛球等系列赛事。",
    )
    assert meta == {"place": "云岚市", "org": "云岚市总工会"}


def test_news_article_about_no_place():
    meta = _about(
        "快递员权益保障新规出台",
        "新规明确，平台企业应当合理确定快递员的劳动报酬和休息时间。",
        "专家表示，新规有助于维护新就业形态劳动者的合法权益。",
    )
    assert meta == {}


def test_union_report_with_place_and_org_in_title():
    meta = _about(
        "凝心聚力谱新篇——松林县总工会2024年工作综述",
        "2024年，县总工会团结带领全县职工建功立业，新建职工之家35家。",
        "松林县各级工会开展劳动技能竞赛120场次。",
    )
    assert meta == {"place": "松林县", "org": "松林县总工会", "year": "2024"}


def test_union_report_whose_title_says_only_district_union():
    body = (
        "2024年，区总工会紧紧围绕全区中心工作，团结带领广大职工建功立业。",
        "枫林区总工会举办职工技能大赛，枫林区200余名职工参赛。",
        "枫林区新建户外劳动者服务站点18个，枫林职工受益。",
    )
    # the body writes the full name: that is the organisation
    assert _about("砥砺奋进——区总工会2024年工作回眸", *body) == {
        "place": "枫林区",
        "org": "枫林区总工会",
        "year": "2024",
    }
    # the body names the district but never the union in full: no organisation is composed
    unnamed = (
        "2024年，区总工会紧紧围绕全区中心工作，团结带领广大职工建功立业。",
        "枫林区举办职工技能大赛，枫林区200余名职工参赛。",
        "枫林区新建户外劳动者服务站点18个，枫林职工受益。",
    )
    assert _about("砥砺奋进——区总工会2024年工作回眸", *unnamed) == {"place": "枫林区", "year": "2024"}


def test_union_report_naming_no_place_gets_none():
    meta = _about("市总工会工作综述", "市总工会举办职工技能大赛，全市职工踊跃参加。", "全市新建职工之家20家。")
    assert meta == {}


# ------------------------------------------------------------------------------ parts


@pytest.mark.parametrize(
    ("title", "year"),
    [
        ("云岚市2021-2025年职工发展规划", "2021-2025"),
        ("云岚市2021—2025年职工发展规划", "2021-2025"),
        ("云岚市“十四五”职工发展规划", ""),  # a plan period is no written year
        ("2019年度工作总结", "2019"),
        ("1200名职工参加培训", ""),
    ],
)
def test_year_from_the_title(title, year):
    assert _about(title, "职工发展工作取得新进展。").get("year", "") == year


def test_year_from_the_collection_when_the_title_has_none():
    assert _about("职工之家建设综述", "建成职工之家。", collection="2022年工会工作汇编")["year"] == "2022"


def test_body_place_needs_enough_mentions_and_the_lead():
    # one mention is no subject
    assert "place" not in _about("工作简报", "上周代表团赴临江市考察。", "职工技能培训持续推进。")
    # two places named as often: neither is the subject
    two = _about("两地交流", "临江市与青川县开展交流。", "临江市代表团到青川县考察。", "临江市和青川县签订协议。")
    assert "place" not in two
    # one place named most, well ahead of the rest
    one = _about("工作简报", "临江市职工技能培训。", "临江市新建驿站。", "临江市表彰劳模，青川县派员观摩。")
    assert one["place"] == "临江市"


def test_generic_organisation_words_are_no_organisation():
    meta = _about(
        "基层工会建设情况",
        "本公司各子公司均建立基层工会，企业工会覆盖率达98%。",
        "上市公司工会、基层工会和企业工会共同开展活动，基层工会会员增长。",
    )
    assert "org" not in meta


def test_every_value_is_in_the_text():
    docs = [
        ("2023年临江市国民经济和社会发展统计公报", "全市地区生产总值增长5.2%。"),
        ("华信精密科技股份有限公司2023年年度报告", "公司营业收入增长，上市公司净利润增加。"),
        ("砥砺奋进——区总工会2024年工作回眸", "枫林区总工会举办大赛。枫林区职工参加，枫林区表彰。"),
    ]
    for title, body in docs:
        meta = _about(title, body)
        for key in ("place", "org"):
            if key in meta:
                assert meta[key] in title + body, (key, meta[key])


# -------------------------------------------------------------- sharing a page's place


def test_share_place_copies_only_what_the_text_says():
    arts = [
        _article("云岚市总工会2024年工作综述", "云岚市总工会全年新建职工之家35家。云岚市职工技能大赛举行。"),
        _article("职工之家遍地开花", "在云岚，职工之家成了职工的“暖心驿站”，市总工会还将继续建设。"),
        _article("记者手记", "走进职工之家，感受到了浓浓的暖意。"),
    ]
    metas = [describe(a) for a in arts]
    assert metas[0]["place"] == "云岚市" and "place" not in metas[1] and "place" not in metas[2]
    _share_place(arts, metas)
    assert metas[1] == {"place": "云岚市"}  # its text says 云岚, not 云岚市总工会: place, no org
    assert metas[2] == {}  # its text names no place: nothing is given to it


def test_share_place_copies_the_org_when_the_text_names_it():
    arts = [
        _article("云岚市总工会2024年工作综述", "云岚市总工会全年新建职工之家35家。"),
        _article("职工之家遍地开花", "云岚市总工会建成职工之家，职工点赞。"),
    ]
    metas = [describe(a) for a in arts]
    metas[1].pop("place", None)
    metas[1].pop("org", None)
    _share_place(arts, metas)
    assert metas[1] == {"place": "云岚市", "org": "云岚市总工会"}


def test_parse_text_documents_carry_the_metadata():
    body = "公司实现营业收入12.6亿元，同比增长8.3%，上市以来经营稳定。" * 3
    docs, chunks = parse_text(f"华信精密科技股份有限公司2023年年度报告\n\n{body}\n", "report.txt")
    assert docs[0].meta == {"org": "华信精密科技股份有限公司", "year": "2023"}
    assert "上市" not in chunks[0].index_text.split("\n")[0].replace(docs[0].title, "")
