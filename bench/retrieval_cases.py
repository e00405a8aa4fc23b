"""Evaluation set over the demo knowledge: (question, fact that must appear in a retrieved chunk, tag).

Tags: en / zh = same language as the knowledge holding the fact; en>zh / zh>en = asked in one
language about a fact written only in the other (cross-lingual).
"""

CASES: list[tuple[str, str, str]] = [
    # English questions about English knowledge
    ("What time do you open on Sundays?", "11:00 to 18:00", "en"),
    ("Which MTR exit should I use to reach the salon?", "Exit F", "en"),
    ("Is there free parking?", "two hours of free parking", "en"),
    ("What's your WhatsApp number for bookings?", "+852 5123 4567", "en"),
    ("Can I pay by cheque?", "Cheques are not accepted", "en"),
    ("How long is a gift card valid?", "valid for 12 months from the date of purchase", "en"),
    ("How many points do I earn in the Lotus Club?", "1 point for every HK$10", "en"),
    ("How much is the Deep Hydrating Facial?", "Treatment: Deep Hydrating Facial", "en"),
    ("How long does the hot stone massage take?", "Full Body Hot Stone Massage; Duration (min): 90", "en"),
    ("What is the member price of the spa pedicure?", "Treatment: Spa Pedicure", "en"),
    ("Do I need to pay a deposit for expensive treatments?", "deposit of HK$200", "en"),
    ("What happens if I don't show up for my appointment?", "50% of the treatment price", "en"),
    ("Can I get a refund on an unused package?", "within 30 days of purchase", "en"),
    ("Can my 12 year old daughter come alone?", "under 16 years old", "en"),
    ("How do I ask you to delete my personal data?", "privacy@lotusglow.hk", "en"),
    # Chinese questions about Chinese knowledge
    ("有冇男士面部護理？", "男士深層清潔面部護理", "zh"),
    ("懷孕可以做面部護理嗎？", "懷孕滿三個月", "zh"),
    ("我皮膚敏感，可以做護理嗎？", "免費皮膚測試", "zh"),
    ("學生有冇折扣？", "八五折", "zh"),
    ("遲到會點？", "十五分鐘", "zh"),
    ("會員買護膚品有冇折？", "九折", "zh"),
    ("暗瘡淨化面部護理幾錢？", "暗瘡淨化面部護理", "zh"),
    ("亮肌速效面部護理要做幾耐？", "亮肌速效面部護理", "zh"),
    # Chinese questions about English knowledge
    ("星期日幾點開門？", "11:00 to 18:00", "zh>en"),
    ("你哋平日幾點關門？", "10:00 to 20:00", "zh>en"),
    ("點樣去你哋間舖？", "Exit F", "zh>en"),
    ("有冇得免費泊車？", "free parking", "zh>en"),
    ("可以用八達通俾錢嗎？", "Octopus", "zh>en"),
    ("禮券有效期幾耐？", "valid for 12 months from the date of purchase", "zh>en"),
    ("取消預約要提前幾耐通知？", "24 hours", "zh>en"),
    ("八號風球會唔會開門？", "Typhoon Signal No. 8", "zh>en"),
    ("套票可唔可以退款？", "within 30 days of purchase", "zh>en"),
    ("投訴要搵邊個？", "care@lotusglow.hk", "zh>en"),
    ("凝膠修甲幾錢？", "Treatment: Gel Manicure", "zh>en"),
    ("熱石按摩幾錢？", "Hot Stone Massage", "zh>en"),
    ("預約要俾幾多訂金？", "deposit of HK$200", "zh>en"),
    ("未開封嘅護膚品可以退嗎？", "Unopened skincare products", "zh>en"),
    ("十六歲以下要家長陪同嗎？", "under 16 years old", "zh>en"),
    ("點樣預約？", "+852 5123 4567", "zh>en"),
    # English questions about Chinese knowledge
    ("Do you offer facials for men?", "男士深層清潔面部護理", "en>zh"),
    ("Can pregnant women get a facial?", "懷孕滿三個月", "en>zh"),
    ("I have sensitive skin, can I still have a treatment?", "免費皮膚測試", "en>zh"),
    ("Do students get a discount?", "八五折", "en>zh"),
    ("What happens if I arrive late?", "十五分鐘", "en>zh"),
    ("Which skincare brands do you use?", "Valmont", "en>zh"),
    ("Do members get a discount on products?", "九折", "en>zh"),
]
