"""A seeded set of trainee questions on 20 known topics, in Korean and English.

It is the second benchmark of content-gap grouping (``bench/gaps_grouping.py``): 500
questions, 25 per topic, whose topic is the gold group. How it is made:

- For each topic, 8 English and 8 Korean questions written for this set (original text,
  not taken from any course or forum): short and long ones, some with a code fragment or
  an error message, Korean ones with the English terms trainees actually type (``append``,
  ``DataFrame``), and paraphrases of the same doubt in both languages.
- The topics overlap on purpose, the way bootcamp questions do: pandas vs NumPy,
  ``FileNotFoundError`` (files) vs ``try``/``except`` (exceptions), ``ModuleNotFoundError``
  (virtual environments) vs exceptions, loops vs comprehensions, Korean text that turns
  into ``???`` in a CSV (files) vs in a plot (matplotlib), overfitting vs train/test
  split vs regression metrics. Four topics (git, SQL, matplotlib, neural-network training)
  are in no shipped course, and some share one lesson of python-basics (files and
  exceptions; train/test split and regression metrics), so no course's lessons are its
  topics: course structure helps, but question similarity has to do part of the work.
- The 16 written questions of a topic all appear once; 9 more per topic repeat a written
  question (drawn with ``random.Random(seed)``) inside a conversational frame ("Sorry if
  this is basic, but …", "수업 듣다가 궁금한 게 생겼는데요, …") and, for some, lower case
  without the question mark: the same doubt asked again by another trainee, as content
  gaps are. The frames are shared by all topics, so they carry no topic signal.

``python -m eval.gaps_dataset OUT.jsonl`` writes the set (``{"id", "question", "topic",
"lang"}`` lines, which ``kdt-tutor gaps group`` reads); the same seed always gives the same
file, so the benchmark generates it rather than keeping a copy.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SEED = 20_251_124
PER_TOPIC = 25

# topic -> (English questions, Korean questions)
TOPICS: dict[str, tuple[list[str], list[str]]] = {
    "type-conversion": (
        [
            "Why does input() give me a string even when I type a number?",
            "How do I turn '42' into an integer so I can add 1 to it?",
            'TypeError: can only concatenate str (not "int") to str — what does it mean?',
            "What is the difference between int(3.9) and round(3.9)?",
            "Why does 7 / 2 give 3.5 but 7 // 2 gives 3?",
            "How can I check what type a variable has right now?",
            "I wrote age = input('age') and then age + 5 crashes. Why?",
            "Is 0.1 + 0.2 really not equal to 0.3 in Python?",
        ],
        [
            "input()으로 숫자를 입력했는데 왜 문자열로 들어오나요?",
            "문자열 '42'를 정수로 바꾸려면 어떻게 하나요?",
            "문자열이랑 숫자를 더하면 TypeError가 나는데 이유가 뭔가요?",
            "int()와 float()는 언제 각각 써야 하나요?",
            "나눗셈 결과가 왜 3이 아니라 3.5로 나오죠?",
            "변수의 자료형을 확인하는 함수가 있나요?",
            "int('3.5')를 하면 에러가 나는데 소수 문자열은 어떻게 변환해요?",
            "0.1 + 0.2 == 0.3 이 False로 나오는 게 정상인가요?",
        ],
    ),
    "string-formatting": (
        [
            "How do I put a variable inside a string with an f-string?",
            "How can I print a float with only two decimal places?",
            "What is the difference between f-strings and .format()?",
            "How do I pad a number with zeros so 7 prints as 007?",
            "Why does my f-string print {name} literally instead of the value?",
            "How do I align text in columns when printing a table?",
            "Can I put an expression like a+b inside the curly braces?",
            "How do I print a percentage like 12.5% from 0.125?",
        ],
        [
            "f-string으로 문자열 안에 변수를 넣는 방법이 궁금해요.",
            "소수점 둘째 자리까지만 출력하려면 어떻게 쓰나요?",
            "f'...'이랑 format() 중에 뭘 써야 하나요?",
            "숫자 앞에 0을 채워서 001, 002처럼 출력하고 싶어요.",
            "중괄호 안에 변수를 넣었는데 값이 아니라 {name}이 그대로 찍혀요.",
            "출력할 때 칸을 맞춰서 표처럼 보이게 할 수 있나요?",
            "천 단위마다 쉼표를 찍어서 1,000,000처럼 보여주려면?",
            "0.125를 12.5%로 출력하는 포맷 문법이 있나요?",
        ],
    ),
    "conditionals": (
        [
            "What is the difference between = and == in an if statement?",
            "When should I use elif instead of another if?",
            "How do I check if a number is between 10 and 20?",
            "Why does my else run even when the first condition looks true?",
            "How do and / or work when I combine two conditions?",
            "Is there a shorter way to write if x > 0: y = 1 else: y = -1?",
            "Does an empty list count as False in an if?",
            "My if block gives an IndentationError, what is wrong with it?",
        ],
        [
            "if문에서 =와 ==의 차이가 뭔가요?",
            "elif와 if를 여러 번 쓰는 것은 어떻게 다른가요?",
            "숫자가 10 이상 20 이하인지 조건을 어떻게 쓰나요?",
            "조건이 참인 것 같은데 자꾸 else로 빠져요.",
            "and와 or를 같이 쓸 때 우선순위가 어떻게 되나요?",
            "삼항 연산자처럼 한 줄로 조건문을 쓸 수 있나요?",
            "빈 문자열이나 0은 조건문에서 거짓으로 취급되나요?",
            "조건문 들여쓰기를 잘못하면 어떤 에러가 나요?",
        ],
    ),
    "loops": (
        [
            "What does range(1, 10, 2) actually produce?",
            "How do I stop a while loop that never ends?",
            "What is the difference between break and continue?",
            "How do I get both the index and the value when looping over a list?",
            "Why does my for loop skip the last number I wanted?",
            "How can I loop backwards from 10 down to 1?",
            "Is it safe to remove items from a list while looping over it?",
            "How do I loop over two lists at the same time?",
        ],
        [
            "range(1, 10)에서 10은 왜 포함이 안 되나요?",
            "while문이 무한 루프에 빠졌는데 어떻게 멈추나요?",
            "break와 continue는 어떤 차이가 있나요?",
            "for문에서 인덱스와 값을 같이 꺼내고 싶어요. enumerate를 쓰면 되나요?",
            "반복문을 10부터 1까지 거꾸로 돌리려면 어떻게 하죠?",
            "리스트를 돌면서 원소를 삭제했더니 몇 개가 안 지워져요.",
            "두 리스트를 동시에 반복하는 방법이 있나요? zip이 뭔가요?",
            "중첩 for문에서 안쪽 반복만 빠져나가는 방법이 궁금합니다.",
        ],
    ),
    "lists": (
        [
            "What is the difference between append and extend?",
            "Why does my_list.sort() return None?",
            "How does slicing like nums[1:4] work, is the end included?",
            "How do I get the last element of a list?",
            "I copied a list with b = a and changing b also changed a. Why?",
            "How do I remove a specific value from a list?",
            "What is the difference between sorted(x) and x.sort()?",
            "How do I find the position of an item in a list?",
        ],
        [
            "append랑 extend는 뭐가 다른가요?",
            "리스트.sort()를 출력하면 왜 None이 나오나요?",
            "슬라이싱 nums[1:4]에서 마지막 인덱스는 포함되나요?",
            "리스트의 맨 마지막 원소를 꺼내는 방법이 뭔가요?",
            "b = a로 복사했는데 b를 바꾸니까 a도 바뀌었어요.",
            "리스트에서 특정 값을 지우려면 remove를 써야 하나요, del을 써야 하나요?",
            "리스트를 내림차순으로 정렬하려면 어떻게 하나요?",
            "IndexError: list index out of range는 왜 나요?",
        ],
    ),
    "dictionaries": (
        [
            "How do I add a new key to a dictionary?",
            "Why do I get a KeyError when I read a key that is not there?",
            "What does dict.get() do differently from square brackets?",
            "How do I loop over both keys and values of a dict?",
            "Can a list be a dictionary key?",
            "How do I count how many times each word appears using a dict?",
            "How do I sort a dictionary by its values?",
            "How can I merge two dictionaries into one?",
        ],
        [
            "딕셔너리에 새 키와 값을 추가하는 방법이 궁금해요.",
            "없는 키를 조회하면 KeyError가 나는데 피하는 방법이 있나요?",
            "get()과 대괄호로 값을 꺼내는 것의 차이가 뭔가요?",
            "딕셔너리의 키와 값을 같이 반복하려면 items()를 쓰나요?",
            "리스트를 딕셔너리의 키로 쓸 수 없는 이유가 뭔가요?",
            "단어별로 몇 번 나왔는지 딕셔너리로 세는 방법을 알려주세요.",
            "딕셔너리를 값 기준으로 정렬할 수 있나요?",
            "두 개의 딕셔너리를 하나로 합치고 싶어요.",
        ],
    ),
    "functions": (
        [
            "What is the difference between return and print in a function?",
            "Why does my function return None?",
            "How do default parameter values work?",
            "What are *args and **kwargs for?",
            "Can a function return two values at once?",
            "Why can't I use a variable from inside the function outside of it?",
            "What does the global keyword do, and should I use it?",
            "Why is using a list as a default argument a bad idea?",
        ],
        [
            "함수에서 return과 print는 어떻게 다른가요?",
            "함수를 호출했는데 결과가 None으로 나와요.",
            "매개변수에 기본값을 주는 방법이 궁금합니다.",
            "*args와 **kwargs는 언제 쓰는 건가요?",
            "함수에서 값을 두 개 반환할 수 있나요?",
            "함수 안에서 만든 변수를 밖에서 쓰려고 하니 NameError가 나요.",
            "전역 변수를 함수 안에서 바꾸려면 global을 써야 하나요?",
            "lambda 함수는 일반 def 함수와 뭐가 다른가요?",
        ],
    ),
    "comprehensions": (
        [
            "How do I write a list comprehension with an if condition?",
            "Can I turn this for loop that appends squares into one line?",
            "Where does the else go in a list comprehension?",
            "What is a dictionary comprehension?",
            "Are list comprehensions faster than normal loops?",
            "How do I flatten a nested list with a comprehension?",
            "What is the difference between [x for x in y] and (x for x in y)?",
            "Is a comprehension with two for clauses read left to right?",
        ],
        [
            "리스트 컴프리헨션에 if 조건을 붙이는 방법이 궁금해요.",
            "제곱수를 append하는 for문을 한 줄로 줄일 수 있나요?",
            "컴프리헨션에서 if-else를 쓰면 위치가 어디로 가야 하나요?",
            "딕셔너리 컴프리헨션은 어떻게 쓰나요?",
            "리스트 컴프리헨션이 일반 반복문보다 빠른가요?",
            "2차원 리스트를 1차원으로 펴는 걸 컴프리헨션으로 할 수 있나요?",
            "대괄호 대신 소괄호로 감싸면 제너레이터가 된다는데 무슨 뜻인가요?",
            "컴프리헨션이 너무 길어지면 그냥 for문으로 쓰는 게 낫나요?",
        ],
    ),
    "files": (
        [
            "How do I read a text file line by line?",
            "Why should I use with open(...) instead of just open()?",
            "What is the difference between mode 'w' and mode 'a'?",
            "FileNotFoundError even though the file is in my folder. What path is Python using?",
            "Korean text in my CSV turns into broken characters when I open it. Which encoding?",
            "How do I write a list of strings to a file, one per line?",
            "Why does each line I read end with \\n?",
            "How do I save a dictionary to a JSON file and load it back?",
        ],
        [
            "텍스트 파일을 한 줄씩 읽는 방법이 궁금해요.",
            "with open을 쓰면 파일을 닫지 않아도 되나요?",
            "파일 모드 'w'와 'a'는 어떻게 다른가요?",
            "파일이 같은 폴더에 있는데 FileNotFoundError가 나요. 경로는 어떻게 쓰나요?",
            "CSV 파일을 열면 한글이 깨져요. encoding을 뭘로 줘야 하나요?",
            "리스트 내용을 파일에 한 줄씩 저장하려면 어떻게 하나요?",
            "파일에서 읽은 줄 끝에 \\n이 붙어 있는데 어떻게 없애요?",
            "딕셔너리를 json 파일로 저장했다가 다시 불러오고 싶어요.",
        ],
    ),
    "exceptions": (
        [
            "How does try / except work?",
            "Should I catch Exception or a specific error type?",
            "What is the finally block for?",
            "How do I raise my own error when an argument is invalid?",
            "How can I print the error message inside except?",
            "What happens if an exception is not caught?",
            "When do I use else after try/except?",
            "Is it bad practice to write except: pass?",
        ],
        [
            "try except 문은 어떻게 동작하나요?",
            "except Exception으로 다 잡는 것과 특정 에러만 잡는 것 중 뭐가 좋나요?",
            "finally 블록은 언제 실행되나요?",
            "잘못된 값이 들어오면 직접 에러를 발생시키고 싶어요. raise는 어떻게 써요?",
            "except 안에서 에러 메시지를 출력하는 방법이 있나요?",
            "예외를 처리하지 않으면 프로그램은 어떻게 되나요?",
            "사용자가 숫자 대신 문자를 입력하면 ValueError가 나는데 다시 입력받게 하려면?",
            "except: pass로 에러를 그냥 무시해도 괜찮은가요?",
        ],
    ),
    "virtual-environments": (
        [
            "Why should I create a virtual environment for each project?",
            "ModuleNotFoundError: No module named 'pandas' but I installed it. Why?",
            "How do I activate a venv on Windows?",
            "What is requirements.txt and how do I make one?",
            "pip install says permission denied, what should I do?",
            "What is the difference between pip and conda?",
            "VS Code runs a different Python than my terminal, how do I pick the interpreter?",
            "How do I install a specific version of a package?",
        ],
        [
            "가상환경은 왜 프로젝트마다 따로 만들어야 하나요?",
            "pip install pandas를 했는데 import하면 ModuleNotFoundError가 나요.",
            "윈도우에서 venv를 활성화하는 명령어가 뭔가요?",
            "requirements.txt 파일은 어떻게 만드나요?",
            "pip와 conda는 어떤 차이가 있나요?",
            "VS Code에서 인터프리터를 가상환경 것으로 바꾸는 방법 알려주세요.",
            "패키지를 특정 버전으로 설치하고 싶어요.",
            "주피터 노트북에서 가상환경 커널이 안 보여요.",
        ],
    ),
    "numpy": (
        [
            "What is the difference between a Python list and a NumPy array?",
            "What does the shape (3,) mean compared to (3, 1)?",
            "How does broadcasting work when I add a row to a matrix?",
            "How do I reshape a 1D array into 2 rows and 3 columns?",
            "Why is multiplying two arrays with * not a matrix product?",
            "How do I pick the elements of an array greater than 5?",
            "What does axis=0 mean in np.sum?",
            "operands could not be broadcast together with shapes (3,) (4,) — how do I fix it?",
        ],
        [
            "파이썬 리스트와 넘파이 배열의 차이가 뭔가요?",
            "shape이 (3,)인 것과 (3, 1)인 것은 어떻게 달라요?",
            "브로드캐스팅이 정확히 어떻게 동작하는지 모르겠어요.",
            "1차원 배열을 2행 3열로 바꾸려면 reshape을 어떻게 쓰나요?",
            "배열끼리 *로 곱하면 행렬곱이 아니라는데 행렬곱은 어떻게 해요?",
            "배열에서 5보다 큰 값만 골라내는 방법이 있나요?",
            "np.sum에서 axis=0과 axis=1의 차이가 헷갈려요.",
            "np.arange와 np.linspace는 어떻게 다른가요?",
        ],
    ),
    "pandas": (
        [
            "How do I read a CSV file into a DataFrame?",
            "What is the difference between loc and iloc?",
            "How do I keep only the rows where age is over 30?",
            "How do I fill or drop missing values (NaN)?",
            "How does groupby work, for example average salary per department?",
            "SettingWithCopyWarning keeps appearing, what does it mean?",
            "How do I join two DataFrames on a common column?",
            "How do I count the values in one column?",
        ],
        [
            "CSV 파일을 DataFrame으로 불러오는 방법이 궁금해요.",
            "loc과 iloc의 차이를 쉽게 설명해주세요.",
            "나이가 30 이상인 행만 필터링하려면 어떻게 하나요?",
            "결측치(NaN)를 채우거나 지우는 방법이 뭔가요?",
            "부서별 평균 급여를 구하려면 groupby를 어떻게 써요?",
            "SettingWithCopyWarning 경고가 계속 뜨는데 무시해도 되나요?",
            "두 데이터프레임을 공통 열 기준으로 합치고 싶어요. merge와 concat 차이는?",
            "한 열에 어떤 값이 몇 개씩 있는지 세는 함수가 있나요?",
        ],
    ),
    "classes": (
        [
            "What is self in a class method?",
            "What does __init__ do?",
            "What is the difference between a class and an object?",
            "How does inheritance work, and what does super() do?",
            "What is the difference between a class variable and an instance variable?",
            "Why do I get 'takes 1 positional argument but 2 were given' when calling a method?",
            "What is __str__ for?",
            "When is it worth writing a class instead of just functions?",
        ],
        [
            "클래스 메서드의 첫 번째 인자 self는 뭔가요?",
            "__init__ 메서드는 언제 호출되나요?",
            "클래스와 객체(인스턴스)의 차이를 모르겠어요.",
            "상속을 받을 때 super()는 왜 호출하나요?",
            "클래스 변수와 인스턴스 변수는 어떻게 다른가요?",
            "메서드를 호출했더니 takes 1 positional argument but 2 were given 에러가 나요.",
            "print(객체)를 하면 주소 같은 게 나오는데 예쁘게 출력하려면?",
            "함수만 써도 되는데 굳이 클래스를 만드는 이유가 뭔가요?",
        ],
    ),
    "git": (
        [
            "What is the difference between git commit and git push?",
            "How do I resolve a merge conflict?",
            "I committed a file by mistake, how do I undo the last commit?",
            "What is a branch and why would I create one?",
            "git push is rejected because the remote has work I do not have. What now?",
            "What should go in a .gitignore file?",
            "What is the difference between git pull and git fetch?",
            "How do I clone a repository from GitHub?",
        ],
        [
            "git commit과 git push의 차이가 뭔가요?",
            "머지 충돌(conflict)이 났는데 어떻게 해결하나요?",
            "실수로 커밋한 걸 되돌리고 싶어요.",
            "브랜치는 왜 따로 만들어서 작업하나요?",
            "push를 했더니 rejected라고 나와요.",
            ".gitignore에는 어떤 파일을 넣어야 하나요?",
            "pull과 fetch는 무슨 차이인가요?",
            "깃허브 저장소를 내 컴퓨터로 가져오려면 clone을 하면 되나요?",
        ],
    ),
    "train-test-split": (
        [
            "Why do we split the data into a training set and a test set?",
            "What does random_state do in train_test_split?",
            "My model gets 99% on training data but 60% on test data. What is happening?",
            "What is cross-validation and when should I use it?",
            "How big should the test set be?",
            "Why is it wrong to fit the scaler on the whole dataset before splitting?",
            "What is the difference between a validation set and a test set?",
            "What does stratify=y do?",
        ],
        [
            "데이터를 학습용과 테스트용으로 나누는 이유가 뭔가요?",
            "train_test_split에서 random_state는 왜 지정하나요?",
            "학습 데이터에서는 정확도가 높은데 테스트에서는 낮아요. 과적합인가요?",
            "교차 검증(cross validation)은 언제 쓰나요?",
            "테스트 데이터 비율은 보통 얼마로 하나요?",
            "스케일링을 분할 전에 전체 데이터에 하면 안 되는 이유가 뭔가요?",
            "검증 세트와 테스트 세트는 어떻게 다른가요?",
            "stratify 옵션은 어떤 역할을 하나요?",
        ],
    ),
    "regression-metrics": (
        [
            "What does R squared tell me about my regression model?",
            "What is the difference between MAE and RMSE?",
            "Is a lower mean squared error always better?",
            "Can R² be negative? Mine is -0.3.",
            "How do I read the coefficients of a linear regression?",
            "Why is accuracy not used for regression problems?",
            "My RMSE is 5000, is that good or bad?",
            "How do I compute MSE with scikit-learn?",
        ],
        [
            "결정계수 R²는 무엇을 의미하나요?",
            "MAE와 RMSE의 차이가 뭔가요?",
            "MSE가 작을수록 무조건 좋은 모델인가요?",
            "R² 값이 음수로 나왔는데 이게 가능한가요?",
            "선형 회귀의 계수(coef_)는 어떻게 해석하나요?",
            "회귀 문제에서는 왜 정확도(accuracy)를 안 쓰나요?",
            "RMSE가 5000이 나왔는데 좋은 건지 나쁜 건지 모르겠어요.",
            "사이킷런으로 평균제곱오차를 계산하는 방법 알려주세요.",
        ],
    ),
    "matplotlib": (
        [
            "How do I add a title and axis labels to a plot?",
            "Korean labels in my plot show up as empty squares. How do I fix the font?",
            "How do I draw two plots side by side?",
            "How do I save a figure as a PNG file?",
            "What is the difference between plt.plot and plt.scatter?",
            "My figure is too small, how do I change its size?",
            "How do I add a legend to a line chart?",
            "Why does nothing appear when I call plt.plot in a script?",
        ],
        [
            "그래프에 제목과 축 이름을 넣으려면 어떻게 하나요?",
            "그래프에 한글을 넣으면 네모 박스로 깨져요. 폰트 설정은 어떻게 하나요?",
            "그래프 두 개를 나란히 그리고 싶어요. subplot을 쓰나요?",
            "그린 그래프를 이미지 파일로 저장하는 방법이 궁금합니다.",
            "plot과 scatter는 언제 각각 쓰나요?",
            "figure 크기를 크게 바꾸는 방법이 있나요?",
            "선 그래프에 범례를 추가하려면요?",
            "plt.show()를 안 쓰면 그래프가 안 나오나요?",
        ],
    ),
    "sql": (
        [
            "How do I select only some columns from a table?",
            "What is the difference between WHERE and HAVING?",
            "How does an INNER JOIN differ from a LEFT JOIN?",
            "How do I count rows per category with GROUP BY?",
            "How do I sort query results from highest to lowest?",
            "Why does my query with = NULL return nothing?",
            "What is a primary key?",
            "How do I get only the top 5 rows of a result?",
        ],
        [
            "테이블에서 특정 컬럼만 조회하는 SELECT 문을 어떻게 쓰나요?",
            "WHERE와 HAVING은 어떻게 다른가요?",
            "INNER JOIN과 LEFT JOIN의 차이가 궁금해요.",
            "카테고리별 개수를 세려면 GROUP BY를 어떻게 쓰나요?",
            "쿼리 결과를 내림차순으로 정렬하려면 ORDER BY를 어떻게 하나요?",
            "NULL인 행을 찾으려고 = NULL을 썼는데 결과가 없어요.",
            "기본키(primary key)는 왜 필요한가요?",
            "결과에서 상위 5개 행만 가져오고 싶어요. LIMIT을 쓰나요?",
        ],
    ),
    "neural-network-training": (
        [
            "What is an epoch and how is it different from a batch?",
            "My training loss goes down but validation loss goes up after a few epochs. Why?",
            "How do I choose the learning rate?",
            "Why do we need an activation function like ReLU?",
            "Why do I have to call optimizer.zero_grad() in PyTorch?",
            "What does dropout do during training?",
            "My loss becomes NaN after some steps. What can cause that?",
            "What is the difference between model.train() and model.eval()?",
        ],
        [
            "에폭(epoch)과 배치(batch)의 차이가 뭔가요?",
            "학습 손실은 줄어드는데 검증 손실은 몇 에폭 뒤에 올라가요.",
            "학습률(learning rate)은 어떻게 정하나요?",
            "ReLU 같은 활성화 함수는 왜 필요한가요?",
            "파이토치에서 optimizer.zero_grad()를 왜 매번 호출해요?",
            "드롭아웃은 학습할 때 어떤 역할을 하나요?",
            "학습하다 보면 loss가 nan이 돼요. 원인이 뭘까요?",
            "model.eval()을 호출하지 않으면 어떤 문제가 생기나요?",
        ],
    ),
}

# Conversational frames shared by every topic: a repeated doubt as another trainee asks it.
FRAMES_EN: tuple[str, ...] = (
    "Sorry if this is basic, but {q}",
    "Quick question: {q}",
    "{q} I tried looking it up but I'm still confused.",
    "Hi, during today's session I wondered: {q}",
    "{q} Thanks in advance!",
    "Can someone explain this? {q}",
)
FRAMES_KO: tuple[str, ...] = (
    "수업 듣다가 궁금한 게 생겼는데요, {q}",
    "기초적인 질문이라 죄송한데 {q}",
    "{q} 검색해봐도 잘 모르겠어요ㅠㅠ",
    "질문 있습니다! {q}",
    "{q} 답변 부탁드립니다.",
    "오늘 실습하다가 막혔어요. {q}",
)


@dataclass(frozen=True)
class SeededQuestion:
    id: str
    question: str
    topic: str
    lang: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "question": self.question, "topic": self.topic, "lang": self.lang}


def seeded_questions(*, seed: int = DEFAULT_SEED) -> list[SeededQuestion]:
    """The 500 questions (25 per topic), in a shuffled order fixed by ``seed``."""
    rng = random.Random(seed)
    out: list[SeededQuestion] = []
    for topic, (english, korean) in TOPICS.items():
        written = [(q, "en") for q in english] + [(q, "ko") for q in korean]
        items = list(written)
        for text, lang in rng.sample(written, PER_TOPIC - len(written)):
            frame = rng.choice(FRAMES_KO if lang == "ko" else FRAMES_EN)
            asked = frame.format(q=text)
            if rng.random() < 0.3:  # typed quickly: lower case, no question mark
                asked = asked.lower().replace("?", "")
            items.append((asked, lang))
        for text, lang in items:
            out.append(SeededQuestion(id="", question=text, topic=topic, lang=lang))
    rng.shuffle(out)
    return [
        SeededQuestion(id=f"s{n:03d}", question=q.question, topic=q.topic, lang=q.lang)
        for n, q in enumerate(out, start=1)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write the seeded content-gap question set")
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    lines = [json.dumps(q.as_dict(), ensure_ascii=False) for q in seeded_questions(seed=args.seed)]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} questions to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
