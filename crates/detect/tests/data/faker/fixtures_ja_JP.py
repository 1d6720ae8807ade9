CUSTOMERS = [
    {'name': '坂本 英樹', 'email': 'akirayoshida@example.com', 'phone': '67-6347-1406', 'card': '3574227875826983', 'ip': '212.15.100.107'},
    {'name': '阿部 晃', 'email': 'momoko61@example.com', 'phone': '01-1391-2472', 'card': '4621930816140999', 'ip': '182.164.79.53'},
    {'name': '池田 幹', 'email': 'pnakamura@example.com', 'phone': '070-2429-8488', 'card': '3541834482357623', 'ip': '79.23.192.224'},
    {'name': '石井 直人', 'email': 'dito@example.com', 'phone': '090-1808-6026', 'card': '4117329653459565', 'ip': '187.86.81.58'},
    {'name': '林 浩', 'email': 'yuitanaka@example.org', 'phone': '070-0023-3077', 'card': '4067496577132212', 'ip': '140.226.137.232'},
]
