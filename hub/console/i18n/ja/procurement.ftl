# renkei コンソール（procurement）：日本語（英語は ../en/procurement.ftl）。
# サプライヤーの比較、サプライチェーン、評価の登録（手引書6.4 サプライチェーン・リスク対応）。

## サプライヤーの比較

procure-compare-title = サプライヤーの比較
procure-compare-intro = 最大5社のサプライヤーを並べて比較します。評点はあなたが閲覧できる評価だけから算出したもので、手引書6.4の評価項目ごとの値も示します。
procure-compare-empty = 比較するサプライヤーがまだ選ばれていません。下で検索するか、サプライヤーIDを入力してください。
procure-compare-table = 評点と評価項目の比較
procure-compare-row = 項目
procure-compare-links = 関連ページ
procure-compare-remove = 比較から外す
procure-compare-add = サプライヤーを追加
procure-compare-add-link = 追加
procure-compare-full = 5社を比較中です。別のサプライヤーを追加するには、いずれかを外してください。
procure-compare-id-label = またはサプライヤーID
procure-compare-submit = 比較に追加
procure-compare-results = 該当するサプライヤー
procure-not-assessed = 未評価
procure-supplier-link = サプライヤーのページ
procure-chain-link = サプライチェーン
procure-assess-link = 評価を登録

## サプライチェーン

procure-chain-title = サプライチェーン：{ $name }
procure-chain-intro = { $n ->
   *[other] このサプライヤーの製品・サービスと、それぞれが依存する再委託先を{ $n }階層までたどって示します。閲覧権限のない再委託先は名称を伏せて表示します。
}
procure-chain-graph-heading = 図
procure-chain-graph = { $name }のサプライチェーン：製品・サービスと、それぞれが依存する再委託先
procure-chain-list = 同じ内容の一覧
procure-chain-hidden = 閲覧権限のないサプライヤー
procure-chain-cycle = 上位のサプライヤーに戻る循環
procure-chain-shown = 上に表示済み
procure-chain-deeper = さらに続きます（このサプライヤーのサプライチェーンを開いてください）
procure-chain-truncated = サプライチェーンが長いため、一部のみ表示しています。続きは各再委託先のサプライチェーンを開いてください。
procure-proposed = 提案中
procure-kind-software = ソフトウェア
procure-kind-ot_device = OT機器
procure-kind-cloud_service = クラウドサービス
procure-kind-managed_service = マネージドサービス
procure-kind-maintenance = 保守
procure-kind-integration = システム構築・統合

## 評価の登録

procure-assess-title = { $name }の評価
procure-assess-intro = 手引書6.4の各評価項目について、0〜4の5段階（0：未実施 … 4：十分に実施）で回答するか、「該当しない」を選んでください。「評価しない」のままの項目は今回の評価に含まれません。評点は入力するものではなく、回答から算出されます。
procure-assess-scheme = 評価スキーム
procure-assess-scheme-version = 版
procure-assess-criteria = 評価項目
procure-assess-answer = 回答
procure-assess-comment = コメント
procure-assess-comment-for = コメント：
procure-answer-none = ―（評価しない）
procure-answer-0 = 0：未実施
procure-answer-1 = 1：着手したばかり
procure-answer-2 = 2：一部実施
procure-answer-3 = 3：おおむね実施
procure-answer-4 = 4：十分に実施
procure-answer-na = 該当しない
procure-assess-about = 評価について
procure-choose = 選択してください
procure-assess-assessor = 評価者の区分
procure-assessor-member = 自組織
procure-assessor-supplier = サプライヤー自身（自己評価）
procure-assessor-third_party = 監査法人・評価機関
procure-assessor-automated = 自動ツール
procure-assess-assessor-name = 評価者名（任意。監査法人名など）
procure-assess-assurance = 保証水準（回答の裏付け）
procure-assess-observed = 評価実施日
procure-assess-valid-until = { $n ->
   *[other] 有効期限（任意。省略時は評価実施日から{ $n }日後）
}
procure-assess-conclusion = 結論
procure-conclusion-ok = 問題なし
procure-conclusion-warning = 要確認事項あり
procure-conclusion-blocker = 重大な問題あり（このままでは調達不可）
procure-conclusion-not_applicable = 該当しない
procure-assess-evidence = 証跡：各文書のSHA-256を1行に1件。必要に応じて後ろに種類（certificate、audit_report、pen_test、sbom、policy、other）を付けてください
procure-assess-evidence-hint = 各証跡は、0〜4で回答したすべての評価項目に記録されます。共有されるのはハッシュ値だけで、文書そのものは共有されません。
procure-assess-offerings = 評価対象の製品・サービス（任意）
procure-assess-sharing = 閲覧できる範囲
procure-assess-summary = 送信前に確認してください：ラベルによってこの評価を閲覧できる組織が決まり、その組織から見た評点にだけ反映されます。
procure-assess-submit = 評価を登録する
