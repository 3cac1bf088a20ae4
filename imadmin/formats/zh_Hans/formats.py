"""Chinese number grouping as CLDR gives it (1,234,567), not Django's default.

Django's zh_Hans formats group by four with no separator, so a count of
accounts reads 1234567; Unicode CLDR, the IM console and most Chinese software
write 1,234,567. Every other format comes from Django's own zh_Hans module.
"""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
