"""Relative times and counters as pages print them in the languages our users read (pure,
no imports).

A line such as "vor 5 Minuten", "il y a 3 heures" or "5분 전" changes on every load of a
page that prints it: the built-in ignore rules (``watcher.read.normalize``) drop it where it
stands apart from the prose, and the parts reader (``watcher.read.parts``) reads a byline or
dateline without it. English and Chinese forms, which may also spell the number out ("an
hour ago", "刚刚"), are written out where they are used; every form here has its number in
digits, so that the rules that use it are tried only where a digit is found.
"""

from __future__ import annotations

_N = r"\d{1,3}\s*"
_FORMS = (
    # German, French, Spanish, Portuguese: the word before the number
    rf"vor\s+{_N}(?:Sekunden|Sek\.?|Minuten|Min\.?|Stunden|Std\.?|Tagen|Wochen|Monaten)",
    rf"il\s+y\s+a\s+{_N}(?:secondes?|minutes?|min|heures?|h|jours?|semaines?|mois)",
    rf"hace\s+{_N}(?:segundos?|minutos?|min|horas?|h|días?|semanas?|meses)",
    rf"há\s+{_N}(?:segundos?|minutos?|min|horas?|h|dias?|semanas?|meses)",
    # Italian, Dutch, Russian, Ukrainian, Polish, Turkish: the word after the unit
    rf"{_N}(?:secondi|minuti|min|ore|ora|giorni|settimane|mesi)\s+fa",
    rf"{_N}(?:seconden|minuten|min|uur|dagen|weken|maanden)\s+geleden",
    rf"{_N}(?:секунд[уы]?|минут[уы]?|мин\.?|час(?:а|ов)?|дн(?:я|ей)|день|недел[ьию]"
    r"|месяц(?:а|ев)?)\s+назад",
    rf"{_N}(?:секунд[иу]?|хвилин[иу]?|годин[иу]?|дн(?:і|ів)|день|тижн(?:і|ів)|місяц(?:і|ів)?)"
    r"\s+тому",
    rf"{_N}(?:sekund[ye]?|minut[ye]?|godzin[ye]?|godz\.?|dni|dzień|tygodni[e]?)\s+temu",
    rf"{_N}(?:saniye|dakika|dk\.?|saat|gün|hafta|ay)\s+önce",
    # Japanese, Chinese (traditional too), Korean
    rf"{_N}(?:秒|分|分鐘|分钟|時間|小時|小时|日|天|週間|周)\s*前",
    rf"{_N}(?:초|분|시간|일|주)\s*전",
    # Arabic, Persian, Hebrew, Hindi, Greek
    rf"منذ\s+{_N}(?:ثوان[ٍي]?|ثانية|دقائق|دقيقة|ساعات|ساعة|أيام|يوم)",
    rf"{_N}(?:ثانیه|دقیقه|ساعت|روز)\s+پیش",
    rf"לפני\s+{_N}(?:שניות|דקות|שעות|ימים)",
    rf"{_N}(?:सेकंड|मिनट|घंटे|घंटा|दिन)\s+पहले",
    rf"πριν(?:\s+από)?\s+{_N}(?:δευτερόλεπτα|λεπτά|λεπτό|ώρες|ώρα|μέρες|ημέρες)",
    # Indonesian and Malay, Vietnamese, Swedish, Norwegian and Danish, Finnish
    rf"{_N}(?:detik|menit|minit|jam|hari|minggu)\s+(?:yang\s+)?lalu",
    rf"{_N}(?:giây|phút|giờ|ngày|tuần)\s+trước",
    rf"för\s+{_N}(?:sekunder|minuter|min|timmar|tim|dagar)\s+sedan",
    rf"for\s+{_N}(?:sekunder|minutter|min|timer|t|dager|dage|døgn)\s+siden",
    rf"{_N}(?:sekuntia|minuuttia|min|tuntia|päivää)\s+sitten",
)
# One relative time of any of these languages, never the end of a longer word of an
# alphabet (Han, kana and hangul run on without spaces: "更新5分前" holds one); case is the
# user's flag to set.
_AFTER_A_LETTER = r"(?<![A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0900-\u097f])"
RELATIVE_TIME = _AFTER_A_LETTER + "(?:" + "|".join(_FORMS) + r")(?![^\W\d_])"


# What a page counts beside an article and changes on every load: views, reads, comments,
# shares, likes. English and Chinese are written out where they are used. The noun stands
# after the number ("1.234 Aufrufe", "12 commentaires") or before it, as a label
# ("閲覧数 1,234", "조회 1234", "Kommentare (5)").
COUNT_WORDS = (
    r"(?:aufrufe|ansichten|kommentare?|mal\s+gelesen|leser|geteilt"
    r"|vues|lectures|commentaires?|partages|réactions"
    r"|visitas|vistas|lecturas|comentarios?|compartidos|reacciones"
    r"|visualizações|leituras|comentários?|compartilhamentos"
    r"|visualizzazioni|letture|commenti|commento|condivisioni"
    r"|weergaven|keer\s+bekeken|reacties|reactie|keer\s+gelezen"
    r"|просмотр(?:ов|а|ы)?|комментари(?:ев|я|й|и)|прочтени(?:й|я|е)|репост(?:ов|а|ы)?"
    r"|перегляд(?:ів|и)?|коментар(?:ів|і)?"
    r"|wyświetle(?:ń|nia|nie)|odsłon(?:y|a)?|komentarz(?:y|e)?"
    r"|görüntülenme|okunma|yorum(?:lar)?|beğeni"
    r"|dilihat|kali\s+dibaca|dibaca|komentar"
    r"|lượt\s+xem|bình\s+luận|lượt\s+thích"
    r"|visningar|visninger|kommentarer|kommentar"
    r"|προβολές|σχόλια"
    r"|مشاهدات|مشاهدة|تعليقات|تعليق|قراءة|بازدید|دیدگاه"
    r"|צפיות|תגובות"
    r"|बार\s+देखा\s+गया|टिप्पणियाँ|टिप्पणी"
    r"|閲覧数?|コメント|いいね|シェア|PV"
    r"|조회수?|댓글|공감)"
)
# A count as printed: "1.234", "12,5K", "1 234", "3.2万"; a Japanese or Korean count may
# carry its counter word ("12件", "5개"). Atomic and bounded: a page's long run of digits and
# spaces must never make the rules that use it backtrack without end.
COUNT_NUMBER = (
    r"(?>\d{1,9}(?:[.,\u00a0\u202f ]\d{3}){0,4}(?:[.,]\d{1,3})?)"
    r"(?:\s?(?:[kKmM](?![^\W\d_])|万))?(?:\s?[件回개])?"
)
