CUSTOMERS = [
    {'name': 'Nicolas Marty', 'email': 'maggie92@example.org', 'phone': '+33 (0)3 86 87 18 30', 'card': '6599767634714065', 'ip': '181.122.110.210'},
    {'name': 'Marcel Mary', 'email': 'mullernath@example.org', 'phone': '0231105616', 'card': '3501139124722921', 'ip': '202.228.118.82'},
    {'name': 'Antoine-Sébastien Bruneau', 'email': 'bernierandree@example.net', 'phone': '+33 1 42 61 59 77', 'card': '370242984889345', 'ip': '161.228.40.161'},
    {'name': 'Georges Guichard', 'email': 'ygallet@example.org', 'phone': '+33 1 46 51 90 11', 'card': '180036775180868', 'ip': '142.156.87.152'},
    {'name': 'Bertrand Perez-Chartier', 'email': 'ilecomte@example.net', 'phone': '04 90 34 59 56', 'card': '6011546580993265', 'ip': '181.125.37.161'},
]
