CUSTOMERS = [
    {'name': 'Dipl.-Ing. Ivanka Krein B.A.', 'email': 'vittorio14@example.org', 'phone': '0947422787', 'card': '346980134110564', 'ip': '75.210.197.226'},
    {'name': 'Prof. Mark Dörschner B.A.', 'email': 'ilona72@example.org', 'phone': '(02621) 930816', 'card': '3540991692061592', 'ip': '129.187.45.11'},
    {'name': 'Theresia Röhricht', 'email': 'jorgebolnbach@example.net', 'phone': '+49(0) 448235762', 'card': '4519011897367754', 'ip': '220.64.50.229'},
    {'name': 'Wigbert Lorch-Stiffel', 'email': 'karoladrub@example.org', 'phone': '(07329) 65345', 'card': '3566254658099323', 'ip': '220.197.119.43'},
    {'name': 'Adele Loos', 'email': 'njacob@example.com', 'phone': '07713221567', 'card': '4142430705550077', 'ip': '173.31.76.166'},
]
