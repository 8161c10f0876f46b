"""A small built-in multilingual product-search task for export parity checks (written for this project).

Each pair is (query, product title) in one of the Southeast Asian languages seaembed targets plus English. It is
too small to rank models; it only shows whether a converted model ranks like the original.
"""

from __future__ import annotations

PAIRS: list[tuple[str, str, str]] = [
    # (lang, query, product title)
    ("id", "sepatu lari pria", "Sepatu Running Pria Ringan Sol Karet Anti Slip Size 39-44"),
    ("id", "tas ransel laptop", "Tas Ransel Laptop 15.6 inch Waterproof dengan Port USB"),
    ("id", "kaos polos hitam", "Kaos Polos Cotton Combed 30s Warna Hitam Unisex"),
    ("id", "minyak goreng 2 liter", "Minyak Goreng Sawit Kemasan Pouch 2L"),
    ("id", "charger hp fast charging", "Charger Fast Charging 33W USB-C untuk Xiaomi Samsung Oppo"),
    ("id", "lipstik matte tahan lama", "Lipstik Matte Long Lasting Waterproof Warna Nude"),
    ("ms", "kasut sukan wanita", "Kasut Sukan Wanita Ringan untuk Berjoging dan Gim"),
    ("ms", "periuk nasi elektrik", "Periuk Nasi Elektrik 1.8 Liter Tidak Melekat"),
    ("ms", "tudung bawal cotton", "Tudung Bawal Cotton Premium Bidang 45 Pelbagai Warna"),
    ("ms", "beg tangan kulit", "Beg Tangan Wanita Kulit Tulen Saiz Sederhana"),
    ("ms", "minyak wangi lelaki", "Minyak Wangi Lelaki Eau de Parfum 100ml Tahan Lama"),
    ("th", "รองเท้าวิ่งผู้ชาย", "รองเท้าวิ่งผู้ชาย น้ำหนักเบา พื้นยางกันลื่น"),
    ("th", "หม้อหุงข้าวไฟฟ้า", "หม้อหุงข้าวไฟฟ้า 1.8 ลิตร เคลือบเทฟล่อน"),
    ("th", "เสื้อยืดสีดำ", "เสื้อยืดคอกลม ผ้าฝ้าย 100% สีดำ ไซส์ M-XL"),
    ("th", "ครีมกันแดด", "ครีมกันแดด SPF50 PA+++ สำหรับผิวหน้า 30 มล."),
    ("th", "หูฟังบลูทูธ", "หูฟังบลูทูธไร้สาย ตัดเสียงรบกวน แบตอึด 30 ชั่วโมง"),
    ("vi", "giày chạy bộ nam", "Giày chạy bộ nam siêu nhẹ đế cao su chống trơn"),
    ("vi", "nồi cơm điện", "Nồi cơm điện 1.8 lít lòng chống dính"),
    ("vi", "áo thun đen", "Áo thun cotton cổ tròn màu đen unisex"),
    ("vi", "kem chống nắng", "Kem chống nắng SPF50 cho da mặt 50ml"),
    ("vi", "tai nghe không dây", "Tai nghe bluetooth không dây chống ồn pin 30 giờ"),
    ("tl", "sapatos pantakbo lalaki", "Sapatos Pangtakbo ng Lalaki Magaan at Matibay"),
    ("tl", "rice cooker", "Electric Rice Cooker 1.8L Non-Stick Inner Pot"),
    ("tl", "damit pambata", "Damit Pambata Cotton Set Pang-araw-araw 2-5 taon"),
    ("tl", "bag na pang eskwela", "Backpack Pang-eskwela na Matibay may Maraming Bulsa"),
    ("en", "wireless earbuds", "Wireless Bluetooth Earbuds with Noise Cancelling and Charging Case"),
    ("en", "stainless water bottle", "Stainless Steel Insulated Water Bottle 750ml Keeps Cold 24h"),
    ("en", "gaming mouse", "RGB Gaming Mouse 7200 DPI with 6 Programmable Buttons"),
    ("en", "baby diapers size m", "Baby Diapers Size M 60 pcs Soft and Dry"),
    ("en", "yoga mat", "Non-Slip Yoga Mat 6mm Thick with Carrying Strap"),
]

EXTRA_CORPUS: list[str] = [
    "Sabun Cuci Piring Jeruk Nipis 800ml",
    "Kabel Data USB Type C 1 Meter Braided",
    "Blender Serbaguna 2 Liter 350 Watt",
    "ผ้าห่มนวม ขนาด 6 ฟุต นุ่มสบาย",
    "Bình giữ nhiệt inox 500ml",
    "Power Bank 20000mAh Fast Charging",
    "Payung Lipat Otomatis Anti UV",
    "Kipas Angin Meja 16 inci 3 Kelajuan",
    "Sandal Jepit Karet Pria Nyaman",
    "Bàn phím cơ không dây RGB",
]


def parity_texts() -> list[str]:
    """Sample texts for the cosine check: every query and every title."""
    return [q for _, q, _ in PAIRS] + [t for _, _, t in PAIRS] + EXTRA_CORPUS


def retrieval_task() -> tuple[list[str], list[str], list[int]]:
    """`(queries, corpus, relevant_corpus_index_per_query)` for the built-in task."""
    queries = [q for _, q, _ in PAIRS]
    corpus = [t for _, _, t in PAIRS] + EXTRA_CORPUS
    return queries, corpus, list(range(len(PAIRS)))
