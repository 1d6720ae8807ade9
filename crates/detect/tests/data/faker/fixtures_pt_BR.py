CUSTOMERS = [
    {'name': 'Bianca Rodrigues', 'email': 'arthurlima@example.com', 'phone': '88 6763-4714', 'card': '060469474229', 'ip': '212.15.100.107'},
    {'name': 'Srta. Juliana Barros', 'email': 'ribeirobenjamim@example.com', 'phone': '69 1670-1139', 'card': '4247229262193089', 'ip': '182.164.79.53'},
    {'name': 'Murilo Pinto', 'email': 'antoniolopes@example.org', 'phone': '28 9775-5024', 'card': '4889341834482354', 'ip': '79.23.192.224'},
    {'name': 'Thiago Peixoto', 'email': 'yda-costa@example.com', 'phone': '87 5180-8602', 'card': '6011117329653451', 'ip': '5ab2:89d2:e1bc:efc7:b47e:99fe:7b63:fa55'},
    {'name': 'Sr. Henrique Sousa', 'email': 'isabelaazevedo@example.org', 'phone': '+55 21 0233-0775', 'card': '630474965773', 'ip': '140.226.137.232'},
]
