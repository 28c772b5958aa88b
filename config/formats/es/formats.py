DATE_FORMAT = r"j \d\e F \d\e Y"  # 3 de diciembre de 2026
SHORT_DATE_FORMAT = "j b Y"  # 3 dic 2026 (Spanish writes month abbreviations in lower case)
DATETIME_FORMAT = r"j \d\e F \d\e Y, H:i T"
SHORT_DATETIME_FORMAT = "j b Y, H:i T"
